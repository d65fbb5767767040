-- syn_flood.sql: services receiving a flood of half-open TCP connections.
--
-- Finds: per time window, the destination services (dst_ip, dst_port) that
--   received many half-open TCP flows. A flow is half-open when it has a SYN,
--   the initiator sent no payload, and the initiator never acknowledged
--   anything: every packet with ACK set in the flow can be the responder's
--   (ack_count <= bwd_pkt_count). That covers a SYN nobody answered, a SYN
--   answered by SYN+ACK (even retransmitted) that was never completed, a SYN
--   answered by RST (closed port), and a spoofed source's RST to the SYN+ACK.
--   A completed handshake, with or without data, always has an ACK from the
--   initiator and never counts.
--
-- Why it matters: a SYN flood fills the target's backlog of half-open
--   connections until real clients cannot connect (denial of service). The
--   number of distinct sources tells a spoofed flood (many sources) from a
--   single misbehaving or scanning client, and a low unanswered count with
--   many resets shows the target (or its firewall) still answering.
--
-- Columns:
--   window_start     start of the window (UTC) the flows began in
--   dst_ip           the targeted host
--   dst_port         the targeted port
--   half_open        half-open flows to it in the window
--   syn_flows        all flows with a SYN to it in the window
--   half_open_ratio  half_open / syn_flows, 3 decimals
--   sources          distinct source addresses of the half-open flows
--   unanswered       half-open flows that got no packet back
--   reset            half-open flows with a RST (either side)
--   first_seen       start of the first half-open flow in the window
--   last_seen        end of the last half-open flow in the window
--
-- Tuning (params below):
--   window_s             window length in seconds; windows are aligned to the
--                        Unix epoch (default 60).
--   min_half_open        half-open flows to one service in one window to
--                        report it (default 100).
--   min_half_open_ratio  share of the service's SYN flows that are half-open
--                        (default 0.5), so a busy server with a normal rate of
--                        failed connections is not reported.
--   A flood across a window boundary is split between two windows; lower
--   min_half_open or widen window_s if that matters.
with params as (
    select
        60 as window_s,
        100 as min_half_open,
        0.5 as min_half_open_ratio
),
syn_flows as (
    select
        arrow_cast(
            cast(f.first_seen as bigint) / (p.window_s * 1000000) * (p.window_s * 1000000),
            'Timestamp(Microsecond, Some("UTC"))'
        ) as window_start,
        f.dst_ip,
        f.dst_port,
        f.src_ip,
        f.first_seen,
        f.last_seen,
        case
            when f.fwd_payload_bytes = 0 and f.ack_count <= f.bwd_pkt_count then 1 else 0
        end as half_open,
        case when f.bwd_pkt_count = 0 then 1 else 0 end as unanswered,
        case when f.rst_count > 0 then 1 else 0 end as reset
    from flows f
    cross join params p
    where f.protocol = 6
      and f.syn_count > 0
),
services as (
    select
        window_start,
        dst_ip,
        dst_port,
        sum(half_open) as half_open,
        count(*) as syn_flows,
        count(distinct case when half_open = 1 then src_ip end) as sources,
        sum(half_open * unanswered) as unanswered,
        sum(half_open * reset) as reset,
        min(case when half_open = 1 then first_seen end) as first_seen,
        max(case when half_open = 1 then last_seen end) as last_seen
    from syn_flows
    group by window_start, dst_ip, dst_port
)
select
    s.window_start,
    s.dst_ip,
    s.dst_port,
    s.half_open,
    s.syn_flows,
    round(1.0 * s.half_open / s.syn_flows, 3) as half_open_ratio,
    s.sources,
    s.unanswered,
    s.reset,
    s.first_seen,
    s.last_seen
from services s
cross join params p
where s.half_open >= p.min_half_open
  and 1.0 * s.half_open / s.syn_flows >= p.min_half_open_ratio
order by s.half_open desc, s.window_start, s.dst_ip, s.dst_port;
