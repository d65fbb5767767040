-- rare_ports.sql: services on unusual ports that only one or two clients use.
--
-- Finds: TCP and UDP destination ports, at or above min_port, that at most
--   max_clients distinct hosts talked to, with one row per client -> server
--   pair on such a port. Only real conversations count: flows with payload in
--   both directions and, for TCP, a SYN (the handshake was seen, so src is
--   really the client and dst_port really the service). That leaves out scan
--   probes (a vertical scan would make every port rare; see port_scan.sql) and
--   TCP flows picked up mid-stream, whose "destination port" may be the
--   client's ephemeral port.
--   Ports below min_port (default 1024, the IANA well-known range) are left
--   out: their services (ssh, http, https, dns, smb, ...) are expected, and
--   rarely used ones of them are better found by an allow-list per host.
--
-- Why it matters: backdoors, reverse shells, hand-made command-and-control and
--   unsanctioned tools (remote-access, proxies, crypto miners) often listen on
--   ports that nothing else in the network uses. A port used by many clients
--   is an established service; one used by a single host is worth a look.
--   Peer-to-peer and media traffic (RTP, WebRTC) also use random high ports,
--   so expect some of those.
--
-- Columns:
--   protocol      6 TCP, 17 UDP
--   dst_port      the rare port
--   port_clients  distinct clients that talked to the port (on any server)
--   port_flows    conversation flows to the port (all pairs)
--   src_ip        a client
--   dst_ip        a server it talked to on that port
--   flows         conversation flows of this pair on this port
--   bytes         bytes on the wire of those flows, both directions
--   first_seen    start of the pair's first flow
--   last_seen     end of the pair's last flow
--
-- Tuning (params below):
--   max_clients  a port is rare when at most this many clients used it
--                (default 2).
--   min_port     ignore destination ports below this (default 1024; 0 keeps
--                all, 49152 keeps only the dynamic range).
--   Rarity is measured over the whole input: the more flows you query, the
--   more meaningful it is (a day of a whole network rather than one capture).
with params as (
    select
        2 as max_clients,
        1024 as min_port
),
conversations as (
    select
        f.src_ip,
        f.dst_ip,
        f.dst_port,
        f.protocol,
        f.byte_count,
        f.first_seen,
        f.last_seen
    from flows f
    cross join params p
    where f.protocol in (6, 17)
      and f.dst_port >= p.min_port
      and f.fwd_payload_bytes > 0
      and f.bwd_payload_bytes > 0
      and (f.protocol = 17 or f.syn_count > 0)
),
ports as (
    select
        protocol,
        dst_port,
        count(distinct src_ip) as port_clients,
        count(*) as port_flows
    from conversations
    group by protocol, dst_port
),
pairs as (
    select
        protocol,
        dst_port,
        src_ip,
        dst_ip,
        count(*) as flows,
        sum(byte_count) as bytes,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from conversations
    group by protocol, dst_port, src_ip, dst_ip
)
select
    r.protocol,
    r.dst_port,
    r.port_clients,
    r.port_flows,
    c.src_ip,
    c.dst_ip,
    c.flows,
    c.bytes,
    c.first_seen,
    c.last_seen
from ports r
join pairs c on c.protocol = r.protocol and c.dst_port = r.dst_port
cross join params p
where r.port_clients <= p.max_clients
order by r.port_clients, r.port_flows, r.protocol, r.dst_port, c.src_ip, c.dst_ip;
