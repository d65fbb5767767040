-- port_scan.sql: hosts probing many ports on one host, or one port on many hosts.
--
-- Finds: two shapes of scan by one source (src_ip), over TCP and UDP:
--   vertical   many distinct destination ports probed on one destination host;
--   horizontal one destination port probed on many destination hosts (a sweep).
--   Only "probe" flows count towards the distinct ports / hosts: flows of at
--   most max_probe_pkts packets in which the destination sent no payload, and
--   that, for TCP, have a SYN (flows picked up mid-stream are not probes). A scan is mostly such flows: SYN answered
--   by RST (closed port), SYN / SYN+ACK / RST (open port, half-open scan), a
--   lone SYN (filtered), or a UDP datagram with no answer. Real conversations
--   carry payload both ways and never count, so a client browsing dozens of
--   web servers on 443 is not a horizontal scan.
--
-- Why it matters: scanning is reconnaissance: an outside host mapping your
--   exposed services, or an inside host (compromised, or a worm) looking for
--   its next target. An internal source is usually the more urgent finding.
--
-- Columns:
--   kind        'vertical' or 'horizontal'
--   src_ip      the scanning host
--   dst_ip      the scanned host (vertical; empty for horizontal)
--   dst_port    the scanned port (horizontal; empty for vertical)
--   protocol    6 TCP, 17 UDP
--   targets     distinct ports (vertical) or hosts (horizontal) probed
--   probes      probe flows
--   flows       all flows from src_ip to that host (vertical) or port
--               (horizontal) over this protocol, probes included
--   unanswered  probes that got no packet back (filtered, or UDP with no reply)
--   reset       probes with a TCP RST (closed port, or a half-open scan
--               tearing down)
--   score       targets * probes / flows, 1 decimal: the number of targets,
--               discounted when the source also had real conversations there
--   first_seen  start of the first probe
--   last_seen   end of the last probe
--
-- Tuning (params below):
--   min_ports       distinct ports on one host for a vertical scan (default 20).
--   min_hosts       distinct hosts on one port for a horizontal scan
--                   (default 20).
--   max_probe_pkts  a flow with more packets is not a probe (default 4: a TCP
--                   connect scan's SYN, SYN+ACK, ACK, RST).
--   Counts are over the whole input; for long datasets, add a time bucket
--   (e.g. date_bin(interval '1 hour', first_seen)) to the GROUP BYs to find
--   fast scans only. ICMP sweeps (no ports) are not covered.
with params as (
    select
        20 as min_ports,
        20 as min_hosts,
        4 as max_probe_pkts
),
classified as (
    select
        f.src_ip,
        f.dst_ip,
        f.dst_port,
        f.protocol,
        f.first_seen,
        f.last_seen,
        case
            when f.pkt_count <= p.max_probe_pkts
                and f.bwd_payload_bytes = 0
                and (f.protocol = 17 or f.syn_count > 0)
            then 1 else 0
        end as is_probe,
        case when f.bwd_pkt_count = 0 then 1 else 0 end as unanswered,
        case when f.rst_count > 0 then 1 else 0 end as reset
    from flows f
    cross join params p
    where f.protocol in (6, 17)
),
vertical as (
    select
        'vertical' as kind,
        src_ip,
        dst_ip,
        cast(null as int) as dst_port,
        protocol,
        count(distinct case when is_probe = 1 then dst_port end) as targets,
        sum(is_probe) as probes,
        count(*) as flows,
        sum(is_probe * unanswered) as unanswered,
        sum(is_probe * reset) as reset,
        min(case when is_probe = 1 then first_seen end) as first_seen,
        max(case when is_probe = 1 then last_seen end) as last_seen
    from classified
    group by src_ip, dst_ip, protocol
    having count(distinct case when is_probe = 1 then dst_port end)
        >= (select min_ports from params)
),
horizontal as (
    select
        'horizontal' as kind,
        src_ip,
        cast(null as varchar) as dst_ip,
        dst_port,
        protocol,
        count(distinct case when is_probe = 1 then dst_ip end) as targets,
        sum(is_probe) as probes,
        count(*) as flows,
        sum(is_probe * unanswered) as unanswered,
        sum(is_probe * reset) as reset,
        min(case when is_probe = 1 then first_seen end) as first_seen,
        max(case when is_probe = 1 then last_seen end) as last_seen
    from classified
    group by src_ip, dst_port, protocol
    having count(distinct case when is_probe = 1 then dst_ip end)
        >= (select min_hosts from params)
),
findings as (
    select * from vertical
    union all
    select * from horizontal
)
select
    kind,
    src_ip,
    dst_ip,
    dst_port,
    protocol,
    targets,
    probes,
    flows,
    unanswered,
    reset,
    round(1.0 * targets * probes / flows, 1) as score,
    first_seen,
    last_seen
from findings
order by score desc, kind, src_ip, dst_ip, dst_port, protocol;
