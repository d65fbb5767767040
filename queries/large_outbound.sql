-- large_outbound.sql: internal hosts sending a lot of data to the internet.
--
-- Finds: pairs internal src_ip -> external dst_ip where the internal host
--   initiated the flows and sent more than min_fwd_bytes in them in total
--   (fwd_byte_count summed over all flows of the pair, so an upload split over
--   several connections counts whole). "Internal" sources are RFC 1918
--   (10/8, 172.16/12, 192.168/16) and IPv6 unique-local (fc00::/7) addresses;
--   "external" destinations are everything except those and loopback,
--   link-local, multicast, broadcast and unspecified addresses. The checks are
--   plain regular expressions on the address text (flowq writes IPv6 in RFC
--   5952 lowercase form), so they work on any flowq data.
--
-- Why it matters: data exfiltration. An internal host uploading gigabytes to an
--   address outside the organisation, especially one nobody else talks to or
--   at an odd hour, is the classic sign of stolen data leaving (or of a
--   backup job nobody told you about). sent_share near 1 means the traffic
--   went out, not in.
--
-- Columns:
--   src_ip          the internal host
--   dst_ip          the external address
--   flows           flows from src_ip to dst_ip
--   dst_ports       distinct destination ports among them
--   bytes_sent      bytes on the wire src_ip sent (fwd_byte_count, summed)
--   bytes_received  bytes on the wire it got back (bwd_byte_count, summed)
--   payload_sent    transport payload it sent (fwd_payload_bytes, summed)
--   sent_share      bytes_sent / (bytes_sent + bytes_received), 3 decimals
--   first_seen      start of the first flow
--   last_seen       end of the last flow
--
-- Tuning (params below):
--   min_fwd_bytes  report pairs whose bytes_sent is more than this (default
--                  10 000 000, 10 MB).
--   internal_re    which source addresses are internal: add your own public
--                  ranges (e.g. '|203\.0\.113\.') if your organisation has
--                  them.
--   not_external_re  destinations that are never "the internet"; add your own
--                  ranges and trusted upload targets (backup service) here.
--   flowq's is_private() is not used: it also counts 100.64.0.0/10 (carrier-
--   grade NAT), loopback and link-local addresses as private, and does not
--   exclude multicast or broadcast destinations. Where that fits your
--   network, `is_private(f.src_ip) and not is_private(f.dst_ip)` can replace
--   the two regular expressions.
--   Flows started from outside (an external client pulling data from an
--   internal server) have the external host as src_ip and are not covered.
with params as (
    select
        10000000 as min_fwd_bytes,
        '^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.|f[cd][0-9a-f]{2}:)' as internal_re,
        '^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.|f[cd][0-9a-f]{2}:'
            || '|127\.|169\.254\.|2(2[4-9]|3[0-9])\.|255\.255\.255\.255$|0\.0\.0\.0$'
            || '|fe[89ab][0-9a-f]:|ff[0-9a-f]{2}:|::1?$)' as not_external_re
),
outbound as (
    select
        f.src_ip,
        f.dst_ip,
        count(*) as flows,
        count(distinct f.dst_port) as dst_ports,
        sum(f.fwd_byte_count) as bytes_sent,
        sum(f.bwd_byte_count) as bytes_received,
        sum(f.fwd_payload_bytes) as payload_sent,
        min(f.first_seen) as first_seen,
        max(f.last_seen) as last_seen
    from flows f
    cross join params p
    where f.src_ip ~ p.internal_re
      and not f.dst_ip ~ p.not_external_re
    group by f.src_ip, f.dst_ip
)
select
    o.src_ip,
    o.dst_ip,
    o.flows,
    o.dst_ports,
    o.bytes_sent,
    o.bytes_received,
    o.payload_sent,
    round(1.0 * o.bytes_sent / (o.bytes_sent + o.bytes_received), 3) as sent_share,
    o.first_seen,
    o.last_seen
from outbound o
cross join params p
where o.bytes_sent > p.min_fwd_bytes
order by o.bytes_sent desc, o.src_ip, o.dst_ip;
