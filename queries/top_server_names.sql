-- top_server_names.sql: the names the capture's clients asked for, most
-- asked first.
--
-- Finds: every server name flowq read from the payload (TLS and QUIC SNI,
--   HTTP Host, DNS query name: the `server_name` column), ranked by the
--   number of flows that asked for it, with its registered domain (Public
--   Suffix List), the protocols it was asked over, how many clients asked and
--   how many server addresses answered, and the bytes of those flows.
--
-- Why it matters: the first question about a capture is which services its
--   hosts used. Names seen from a single client, names under unfamiliar
--   registered domains, or one name served by many addresses (fast flux) are
--   where to look next; a DNS name that is never followed by a TLS or HTTP
--   flow was looked up but not used (or used over a channel flowq cannot read).
--
-- Columns:
--   rank                1 for the name with the most flows
--   server_name         the name (lower case as sent; flowq does not change it)
--   registered_domain   its registered domain, NULL for addresses and names
--                       that are a public suffix themselves
--   protocols           the app_protocol values it was seen with, sorted,
--                       separated by spaces (e.g. "dns tls")
--   flows               flows that asked for it
--   clients             distinct clients (src_ip) that asked
--   servers             distinct server addresses (dst_ip) of those flows
--   bytes               bytes of those flows, both directions
--   first_seen          start of the first such flow
--   last_seen           end of the last one
--
-- Tuning (params below):
--   top_n        how many names to list at most (default 25).
--   min_flows    list only names asked for by at least this many flows
--                (default 1).
--   by_domain    1 to count registered domains instead of names (server_name
--                is then the registered domain too; default 0).
with params as (
    select
        25 as top_n,
        1 as min_flows,
        0 as by_domain
),
named as (
    select
        case when p.by_domain = 1
            then coalesce(registered_domain(f.server_name), f.server_name)
            else f.server_name
        end as name,
        f.app_protocol,
        f.src_ip,
        f.dst_ip,
        f.byte_count,
        f.first_seen,
        f.last_seen
    from flows f
    cross join params p
    where f.server_name is not null
),
protocols as (
    select name, string_agg(app_protocol, ' ' order by app_protocol) as protocols
    from (select distinct name, app_protocol from named where app_protocol is not null)
    group by name
),
names as (
    select
        name,
        count(*) as flows,
        count(distinct src_ip) as clients,
        count(distinct dst_ip) as servers,
        sum(byte_count) as bytes,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from named
    group by name
),
ranked as (
    select
        row_number() over (order by n.flows desc, n.clients desc, n.bytes desc, n.name)
            as rank,
        n.name as server_name,
        registered_domain(n.name) as registered_domain,
        coalesce(p.protocols, '') as protocols,
        n.flows,
        n.clients,
        n.servers,
        n.bytes,
        n.first_seen,
        n.last_seen
    from names n
    left join protocols p on p.name = n.name
    cross join params q
    where n.flows >= q.min_flows
)
select r.*
from ranked r
cross join params p
where r.rank <= p.top_n
order by r.rank;
