-- beaconing.sql: clients that connect to the same service at regular intervals.
--
-- Finds: pairs src_ip -> dst_ip:dst_port (per protocol) with many connections
--   (flows) whose start times are evenly spaced. For each pair the gaps between
--   consecutive flow starts are computed with lag() over first_seen; a pair is
--   reported when it has enough connections, the mean gap is not tiny, and the
--   gaps hardly vary: their coefficient of variation (population standard
--   deviation / mean) is low. 0 is a perfect metronome; random human traffic is
--   around 1 or more.
--
-- Why it matters: malware checks in with its command-and-control server on a
--   timer (every N seconds, often with some jitter), which people browsing
--   never do. Software updaters, NTP, monitoring agents and keep-alives beacon
--   too; recognise them by destination and allow-list them.
--
-- Columns:
--   src_ip        the client
--   dst_ip        the server
--   dst_port      the server's port
--   protocol      IP protocol number
--   connections   flows from src_ip to dst_ip:dst_port
--   mean_gap_s    mean time between consecutive flow starts, seconds (3 decimals)
--   stddev_gap_s  population standard deviation of those gaps (3 decimals)
--   cv            stddev_gap_s / mean_gap_s (3 decimals)
--   min_gap_s     shortest gap (3 decimals)
--   max_gap_s     longest gap (3 decimals)
--   bytes         bytes on the wire of all those flows
--   first_seen    start of the first connection
--   last_seen     end of the last connection
--
-- Tuning (params below):
--   min_connections  connections needed (default 10); fewer gaps make the CV
--                    meaningless.
--   max_cv           highest coefficient of variation reported (default 0.2;
--                    a timer with uniform jitter of +-j% has a CV near
--                    j / 173, so 0.2 admits up to about +-35% jitter).
--   min_mean_gap_s   ignore pairs whose connections come faster than this on
--                    average (default 10): bursts of parallel connections are
--                    not beacons.
--   Beacons that reuse one source port (typical for UDP) within the idle
--   timeout are a single flow and cannot be seen here; extract with a shorter
--   --idle-timeout to split them.
with params as (
    select
        10 as min_connections,
        0.2 as max_cv,
        10 as min_mean_gap_s
),
starts as (
    select
        src_ip,
        dst_ip,
        dst_port,
        protocol,
        first_seen,
        last_seen,
        byte_count,
        cast(first_seen as bigint) - lag(cast(first_seen as bigint)) over (
            partition by src_ip, dst_ip, dst_port, protocol
            order by first_seen, flow_id
        ) as gap_us
    from flows
),
pairs as (
    select
        src_ip,
        dst_ip,
        dst_port,
        protocol,
        count(*) as connections,
        avg(gap_us) / 1000000.0 as mean_gap_s,
        stddev_pop(gap_us) / 1000000.0 as stddev_gap_s,
        min(gap_us) / 1000000.0 as min_gap_s,
        max(gap_us) / 1000000.0 as max_gap_s,
        sum(byte_count) as bytes,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from starts
    group by src_ip, dst_ip, dst_port, protocol
)
select
    b.src_ip,
    b.dst_ip,
    b.dst_port,
    b.protocol,
    b.connections,
    round(b.mean_gap_s, 3) as mean_gap_s,
    round(b.stddev_gap_s, 3) as stddev_gap_s,
    round(b.stddev_gap_s / b.mean_gap_s, 3) as cv,
    round(b.min_gap_s, 3) as min_gap_s,
    round(b.max_gap_s, 3) as max_gap_s,
    b.bytes,
    b.first_seen,
    b.last_seen
from pairs b
cross join params p
where b.connections >= p.min_connections
  and b.mean_gap_s >= p.min_mean_gap_s
  and b.stddev_gap_s / b.mean_gap_s <= p.max_cv
order by cv, b.connections desc, b.src_ip, b.dst_ip, b.dst_port, b.protocol;
