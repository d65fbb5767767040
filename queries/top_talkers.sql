-- top_talkers.sql: the sources that moved the most bytes.
--
-- Finds: the hosts that initiated flows (src_ip), ranked by the bytes of those
--   flows in both directions (what they sent plus what they got back).
--
-- Why it matters: the first look at a capture or a day of flows. The top of the
--   list should be the hosts you expect (proxies, backup servers, busy
--   clients); a workstation or a server that normally only answers showing up
--   there can mean exfiltration, a compromised host used as a file server, or
--   a misconfigured job. bytes_sent against bytes_received tells uploaders
--   from downloaders.
--
-- Columns:
--   rank            1 for the source with the most bytes
--   src_ip          the initiating host
--   flows           flows it initiated
--   peers           distinct destination addresses of those flows
--   bytes           bytes on the wire of those flows, both directions
--   bytes_sent      bytes it sent in them (fwd_byte_count)
--   bytes_received  bytes it received in them (bwd_byte_count)
--   pct_of_bytes    its share of the bytes of all flows, in percent (2 decimals)
--   first_seen      start of its first flow
--   last_seen       end of its last flow
--
-- Tuning (params below):
--   top_n      how many sources to list (default 20).
--   min_bytes  leave out sources with fewer bytes (default 0: no floor).
--   To rank uploaders, order by bytes_sent instead of bytes (both in the
--   row_number() and in the final ORDER BY). Ties are broken by src_ip, as
--   text.
with params as (
    select
        20 as top_n,
        0 as min_bytes
),
sources as (
    select
        src_ip,
        count(*) as flows,
        count(distinct dst_ip) as peers,
        sum(byte_count) as bytes,
        sum(fwd_byte_count) as bytes_sent,
        sum(bwd_byte_count) as bytes_received,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from flows
    group by src_ip
),
ranked as (
    select
        row_number() over (order by bytes desc, src_ip) as rank,
        src_ip,
        flows,
        peers,
        bytes,
        bytes_sent,
        bytes_received,
        round(100.0 * bytes / sum(bytes) over (), 2) as pct_of_bytes,
        first_seen,
        last_seen
    from sources
)
select r.*
from ranked r
cross join params p
where r.rank <= p.top_n
  and r.bytes >= p.min_bytes
order by r.rank;
