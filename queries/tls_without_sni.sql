-- tls_without_sni.sql: TLS and QUIC connections whose client named no server.
--
-- Finds: flows whose payload is TLS or QUIC (app_protocol 'tls' or 'quic')
--   and whose ClientHello had no server name (server_name NULL), grouped by
--   client, server address and port, with the client fingerprints (JA4) and
--   ALPN offered.
--
-- Why it matters: browsers and most libraries send the name of the site in
--   the Server Name Indication; a TLS client that does not is talking to a
--   bare IP address. That is normal for some infrastructure (DNS over TLS to a
--   resolver address, some VPNs and update agents) and common for malware
--   command and control, scanners and tools that hard-code an address.
--   A handshake flowq did not see (the capture started mid-connection) has
--   no ClientHello at all, and no JA4: those rows show ja4 NULL.
--
-- Columns:
--   src_ip          the client
--   dst_ip          the server address it connected to
--   dst_port        the server port
--   app_protocol    tls or quic
--   flows           such flows
--   ja4             the JA4 fingerprints seen, sorted, separated by spaces
--                   (NULL when no ClientHello was read)
--   alpn            the ALPN lists offered (first value of each), sorted,
--                   separated by spaces (NULL when none)
--   bytes           bytes of those flows, both directions
--   first_seen      start of the first such flow
--   last_seen       end of the last one
--
-- Tuning (params below):
--   min_flows       list only groups with at least this many flows (default 1).
--   with_hello_only 1 (default) lists only flows whose ClientHello flowq read
--                   (ja4 not NULL), leaving out connections caught after their
--                   handshake; 0 lists those too.
with params as (
    select
        1 as min_flows,
        1 as with_hello_only
),
bare as (
    select f.*
    from flows f
    cross join params p
    where f.app_protocol in ('tls', 'quic')
      and f.server_name is null
      and (p.with_hello_only = 0 or f.ja4 is not null)
),
groups as (
    select
        src_ip,
        dst_ip,
        dst_port,
        app_protocol,
        count(*) as flows,
        sum(byte_count) as bytes,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from bare
    group by src_ip, dst_ip, dst_port, app_protocol
),
fingerprints as (
    select src_ip, dst_ip, dst_port, app_protocol,
           string_agg(ja4, ' ' order by ja4) as ja4
    from (select distinct src_ip, dst_ip, dst_port, app_protocol, ja4 from bare
          where ja4 is not null)
    group by src_ip, dst_ip, dst_port, app_protocol
),
alpns as (
    select src_ip, dst_ip, dst_port, app_protocol,
           string_agg(alpn, ' ' order by alpn) as alpn
    from (select distinct src_ip, dst_ip, dst_port, app_protocol, tls_alpn[1] as alpn
          from bare where tls_alpn[1] is not null)
    group by src_ip, dst_ip, dst_port, app_protocol
)
select
    g.src_ip,
    g.dst_ip,
    g.dst_port,
    g.app_protocol,
    g.flows,
    j.ja4,
    a.alpn,
    g.bytes,
    g.first_seen,
    g.last_seen
from groups g
left join fingerprints j
    on j.src_ip = g.src_ip and j.dst_ip = g.dst_ip and j.dst_port = g.dst_port
   and j.app_protocol = g.app_protocol
left join alpns a
    on a.src_ip = g.src_ip and a.dst_ip = g.dst_ip and a.dst_port = g.dst_port
   and a.app_protocol = g.app_protocol
cross join params p
where g.flows >= p.min_flows
order by g.flows desc, g.bytes desc, g.src_ip, g.dst_ip, g.dst_port, g.app_protocol;
