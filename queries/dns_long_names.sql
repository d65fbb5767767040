-- dns_long_names.sql: DNS lookups of long or random-looking names, grouped by
-- client and registered domain: possible DNS tunnelling.
--
-- Finds: DNS flows (dns_query not NULL) whose query name has a label of at
--   least min_label characters, or is at least min_name characters long, or
--   whose part below the registered domain (the "subdomain", dots left out)
--   is at least min_sub characters long with a Shannon entropy of at least
--   min_entropy bits per character; grouped by client and registered domain.
--
-- Why it matters: DNS tunnels (iodine, dnscat2, DNSExfiltrator) and
--   DNS-based command and control carry data in the names they look up: long
--   labels of base32 or hex text under one domain the attacker controls,
--   each name different. People and most software look up short names of
--   words. Some legitimate services also use long random-looking names
--   (anti-virus reputation lookups, CDN and tracking hosts): check the domain.
--   Many distinct names under one domain from one client is the strongest
--   sign.
--
-- Columns:
--   src_ip          the client that asked
--   domain          the registered domain of the names (the whole name when
--                   it has none)
--   names           distinct matching names
--   flows           DNS flows with a matching name
--   longest_name    characters of the longest matching name
--   longest_label   characters of the longest label in them
--   max_entropy     highest entropy of a subdomain, bits per character,
--                   2 decimals
--   example         the longest matching name (the first in order among
--                   equally long ones)
--   first_seen      start of the first such flow
--   last_seen       end of the last one
--
-- Tuning (params below):
--   min_label       a label this long or longer matches (default 40; the
--                   DNS limit is 63).
--   min_name        a name this long or longer matches (default 100).
--   min_sub         the subdomain must be this long for the entropy test
--                   (default 24; short text cannot have a high entropy).
--   min_entropy     ... and have at least this entropy (default 4.0; English
--                   words score about 3 to 3.5, base32 about 4.5 to 5).
with params as (
    select
        40 as min_label,
        100 as min_name,
        24 as min_sub,
        4.0 as min_entropy
),
names as (
    select distinct lower(rtrim(dns_query, '.')) as name
    from flows
    where dns_query is not null
),
labels as (
    select name, max(character_length(label)) as longest_label
    from (select name, unnest(string_to_array(name, '.')) as label from names)
    group by name
),
measured as (
    select
        n.name,
        coalesce(registered_domain(n.name), n.name) as domain,
        character_length(n.name) as name_len,
        l.longest_label,
        replace(
            case
                when registered_domain(n.name) is null then n.name
                when character_length(n.name) = character_length(registered_domain(n.name))
                    then ''
                else left(n.name,
                    character_length(n.name) - character_length(registered_domain(n.name)) - 1)
            end,
            '.', '') as sub
    from names n
    join labels l on l.name = n.name
),
suspicious as (
    select
        m.name,
        m.domain,
        m.name_len,
        m.longest_label,
        shannon_entropy(m.sub) as entropy
    from measured m
    cross join params p
    where m.longest_label >= p.min_label
       or m.name_len >= p.min_name
       or (character_length(m.sub) >= p.min_sub and shannon_entropy(m.sub) >= p.min_entropy)
),
hits as (
    select f.src_ip, s.domain, s.name, s.name_len, s.longest_label, s.entropy,
           f.first_seen, f.last_seen
    from flows f
    join suspicious s on s.name = lower(rtrim(f.dns_query, '.'))
),
grouped as (
    select
        src_ip,
        domain,
        count(distinct name) as names,
        count(*) as flows,
        max(name_len) as longest_name,
        max(longest_label) as longest_label,
        round(max(entropy), 2) as max_entropy,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from hits
    group by src_ip, domain
),
examples as (
    select src_ip, domain, name as example,
           row_number() over (partition by src_ip, domain order by name_len desc, name) as n
    from (select distinct src_ip, domain, name, name_len from hits)
)
select
    g.src_ip,
    g.domain,
    g.names,
    g.flows,
    g.longest_name,
    g.longest_label,
    g.max_entropy,
    e.example,
    g.first_seen,
    g.last_seen
from grouped g
join examples e on e.src_ip = g.src_ip and e.domain = g.domain and e.n = 1
order by g.names desc, g.flows desc, g.src_ip, g.domain;
