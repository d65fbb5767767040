-- long_connections.sql: connections that stayed up for a long time.
--
-- Finds: connections lasting longer than min_duration_s, longest first. flowq
--   cuts a flow after --active-timeout (default 1800 s) and continues it in a
--   new flow with the same key, so a flow alone never lasts longer than that.
--   This query stitches such pieces back together: flows with the same two
--   endpoints, protocol and VLAN, where the earlier one ended with
--   'active_timeout', are one connection. The piece after a cut starts with
--   whichever side sent the next packet, so the endpoints are matched in either
--   order, and src/dst are those of the connection's first flow. A connection
--   that went quiet for longer than the idle timeout ended there (idle_timeout)
--   and is not stitched to what followed.
--
-- Why it matters: interactive shells, tunnels, VPNs and command-and-control
--   channels hold one connection open for hours, while most traffic lasts
--   seconds. A long connection to an unknown external address, or on a port
--   that should carry short requests (80, 443, 53), deserves a look.
--
-- Columns:
--   src_ip       initiator of the connection's first flow
--   src_port     its port
--   dst_ip       responder
--   dst_port     its port
--   protocol     IP protocol number
--   vlan_id      VLAN id (0 untagged)
--   first_seen   first packet
--   last_seen    last packet
--   duration_s   last_seen - first_seen in seconds (microsecond timestamps)
--   flows        flow records stitched together (1 = never cut)
--   pkt_count    packets, both directions
--   byte_count   bytes on the wire, both directions
--   end_reason   end_reason of its last flow ('end_of_capture': still open
--                when the capture ended)
--
-- Tuning (params below):
--   min_duration_s  report connections lasting longer than this (default 3600).
--   If flows were extracted with --idle-timeout shorter than the gaps of a
--   quiet connection (keep-alives every few minutes), it is split by idle
--   timeouts and each piece is judged alone: extract with a longer
--   --idle-timeout to see such connections whole.
with params as (
    select
        3600 as min_duration_s
),
keyed as (
    select
        flow_id,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        protocol,
        vlan_id,
        first_seen,
        last_seen,
        pkt_count,
        byte_count,
        end_reason,
        -- The two endpoints in a fixed order, whichever side started the flow.
        least(src_ip || ' ' || cast(src_port as varchar), dst_ip || ' ' || cast(dst_port as varchar))
            as endpoint_a,
        greatest(src_ip || ' ' || cast(src_port as varchar), dst_ip || ' ' || cast(dst_port as varchar))
            as endpoint_b
    from flows
),
ordered as (
    select
        *,
        lag(end_reason) over (
            partition by endpoint_a, endpoint_b, protocol, vlan_id
            order by first_seen, flow_id
        ) as previous_end
    from keyed
),
numbered as (
    select
        *,
        -- A new connection starts unless the previous flow was cut by the active timeout.
        sum(case when previous_end = 'active_timeout' then 0 else 1 end) over (
            partition by endpoint_a, endpoint_b, protocol, vlan_id
            order by first_seen, flow_id
            rows between unbounded preceding and current row
        ) as connection
    from ordered
),
connections as (
    select
        first_value(src_ip order by first_seen, flow_id) as src_ip,
        first_value(src_port order by first_seen, flow_id) as src_port,
        first_value(dst_ip order by first_seen, flow_id) as dst_ip,
        first_value(dst_port order by first_seen, flow_id) as dst_port,
        protocol,
        vlan_id,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        (cast(max(last_seen) as bigint) - cast(min(first_seen) as bigint)) / 1000000.0
            as duration_s,
        count(*) as flows,
        sum(pkt_count) as pkt_count,
        sum(byte_count) as byte_count,
        last_value(end_reason order by first_seen, flow_id) as end_reason
    from numbered
    group by endpoint_a, endpoint_b, protocol, vlan_id, connection
)
select c.*
from connections c
cross join params p
where c.duration_s > p.min_duration_s
order by
    c.duration_s desc, c.first_seen, c.src_ip, c.src_port, c.dst_ip, c.dst_port, c.protocol,
    c.vlan_id;
