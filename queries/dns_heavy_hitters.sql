-- dns_heavy_hitters.sql: the clients that use DNS the most.
--
-- Finds: hosts that sent DNS traffic (flows to port 53, UDP or TCP), ranked by
--   their number of DNS flows, then by packets sent, then by DNS bytes. With
--   UDP each query usually has its own source port and so its own flow, but
--   queries from one source port to one server within the idle timeout share
--   a flow (some resolvers, and tunnelling tools, do that), so a client is
--   listed when it has many flows OR sent many packets.
--
-- Why it matters: DNS tunnelling and DNS-based command and control send many
--   queries, often with long names (a high avg_query_bytes) and big
--   answers (TXT records); malware using domain-generation algorithms fires
--   bursts of lookups; a host querying servers other than your resolvers
--   (servers > 1, or an external address) bypasses your DNS controls.
--   Your own resolvers forwarding to upstream servers belong at the top.
--
-- Columns:
--   rank              1 for the client with the most DNS flows
--   src_ip            the client
--   dns_flows         its flows to port 53
--   udp_flows         of which UDP
--   tcp_flows         of which TCP
--   servers           distinct servers it queried
--   queries           packets it sent to port 53 (fwd_pkt_count; for TCP
--                     this includes handshake and ACK packets)
--   query_bytes       DNS payload it sent (fwd_payload_bytes)
--   response_bytes    DNS payload it received (bwd_payload_bytes)
--   avg_query_bytes   query_bytes / queries, 1 decimal
--   pct_of_dns_flows  its share of all DNS flows (of all clients, listed or
--                     not), percent, 2 decimals
--   first_seen        start of its first DNS flow
--   last_seen         end of its last DNS flow
--
-- Tuning (params below):
--   top_n        how many clients to list at most (default 20).
--   min_flows    list clients with at least this many DNS flows (default 10)
--   min_queries  ... or at least this many packets sent to DNS (default 30).
--   dns_port     the DNS port (default 53); 853 for DNS over TLS, 5353 for
--                mDNS.
with params as (
    select
        20 as top_n,
        10 as min_flows,
        30 as min_queries,
        53 as dns_port
),
clients as (
    select
        f.src_ip,
        count(*) as dns_flows,
        sum(case when f.protocol = 17 then 1 else 0 end) as udp_flows,
        sum(case when f.protocol = 6 then 1 else 0 end) as tcp_flows,
        count(distinct f.dst_ip) as servers,
        sum(f.fwd_pkt_count) as queries,
        sum(f.fwd_payload_bytes) as query_bytes,
        sum(f.bwd_payload_bytes) as response_bytes,
        round(100.0 * count(*) / sum(count(*)) over (), 2) as pct_of_dns_flows,
        min(f.first_seen) as first_seen,
        max(f.last_seen) as last_seen
    from flows f
    cross join params p
    where f.dst_port = p.dns_port
      and f.protocol in (6, 17)
    group by f.src_ip
),
ranked as (
    select
        row_number() over (
            order by dns_flows desc, queries desc, query_bytes + response_bytes desc, src_ip
        )
            as rank,
        src_ip,
        dns_flows,
        udp_flows,
        tcp_flows,
        servers,
        queries,
        query_bytes,
        response_bytes,
        round(1.0 * query_bytes / nullif(queries, 0), 1) as avg_query_bytes,
        pct_of_dns_flows,
        first_seen,
        last_seen
    from clients c
    cross join params p
    where c.dns_flows >= p.min_flows
       or c.queries >= p.min_queries
)
select r.*
from ranked r
cross join params p
where r.rank <= p.top_n
order by r.rank;
