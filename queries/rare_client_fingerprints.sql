-- rare_client_fingerprints.sql: TLS and QUIC client fingerprints (JA4) that
-- only one or a few hosts use.
--
-- Finds: every JA4 fingerprint in the capture used by at most max_hosts
--   client addresses, when at least min_population clients sent a
--   ClientHello at all, with the hosts, the names they asked for, and the
--   fingerprint's part a (protocol, TLS version, SNI, counts, ALPN), which
--   often tells a library from a browser at a glance.
--
-- Why it matters: in a network of managed machines, browsers and common
--   libraries give the same few fingerprints on many hosts. A fingerprint seen
--   on one host is a different TLS stack: a developer tool, an unusual
--   application, or malware and its command-and-control client. The value of
--   a rare fingerprint depends on the population: with few clients every
--   fingerprint is rare, hence min_population.
--
-- Columns:
--   ja4             the fingerprint
--   ja4_a           its part a (ja4_part(ja4, 1))
--   hosts           distinct clients (src_ip) that used it
--   clients         those clients, sorted, separated by spaces
--   flows           flows with it
--   server_names    the names those flows asked for, sorted, separated by
--                   spaces (empty when none)
--   first_seen      start of the first such flow
--   last_seen       end of the last one
--
-- Tuning (params below):
--   max_hosts       a fingerprint is rare when at most this many clients use
--                   it (default 1).
--   min_population  report only when at least this many clients sent a
--                   ClientHello (default 3).
with params as (
    select
        1 as max_hosts,
        3 as min_population
),
hellos as (
    select src_ip, ja4, server_name, first_seen, last_seen
    from flows
    where ja4 is not null
),
population as (
    select count(distinct src_ip) as clients from hellos
),
per_fingerprint as (
    select
        ja4,
        count(distinct src_ip) as hosts,
        count(*) as flows,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from hellos
    group by ja4
),
client_lists as (
    select ja4, string_agg(src_ip, ' ' order by src_ip) as clients
    from (select distinct ja4, src_ip from hellos)
    group by ja4
),
name_lists as (
    select ja4, string_agg(server_name, ' ' order by server_name) as server_names
    from (select distinct ja4, server_name from hellos where server_name is not null)
    group by ja4
)
select
    f.ja4,
    ja4_part(f.ja4, 1) as ja4_a,
    f.hosts,
    c.clients,
    f.flows,
    coalesce(n.server_names, '') as server_names,
    f.first_seen,
    f.last_seen
from per_fingerprint f
join client_lists c on c.ja4 = f.ja4
left join name_lists n on n.ja4 = f.ja4
cross join params p
cross join population q
where f.hosts <= p.max_hosts
  and q.clients >= p.min_population
order by f.hosts, f.flows, f.ja4;
