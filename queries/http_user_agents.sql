-- http_user_agents.sql: the HTTP clients of the capture, by User-Agent.
--
-- Finds: every User-Agent of the first HTTP request of a flow (the
--   http_user_agent column; requests without one are listed as NULL), with
--   the requests, clients and servers that used it, rarest last in a ranking
--   by flows.
--
-- Why it matters: a User-Agent says which program made a request. A
--   browser's string on many hosts is expected; a User-Agent on one host
--   only, scripting tools (curl, python-requests, Go-http-client, PowerShell),
--   outdated browsers, empty or strange strings are worth a look: malware
--   often uses a hard-coded or missing User-Agent.
--
-- Columns:
--   rank              1 for the User-Agent with the most flows
--   http_user_agent   the User-Agent (NULL: requests without one)
--   flows             HTTP flows whose first request had it
--   requests          HTTP requests in those flows (http_requests)
--   clients           distinct clients (src_ip)
--   servers           distinct server names asked for (HTTP Host; flows
--                     without one count by address)
--   methods           the methods of those first requests, sorted, separated
--                     by spaces
--   first_seen        start of the first such flow
--   last_seen         end of the last one
--
-- Tuning (params below):
--   top_n          how many User-Agents to list at most (default 50).
--   max_clients    list only User-Agents used by at most this many clients
--                  (default 1000000: all; 1 lists the ones seen on one host).
with params as (
    select
        50 as top_n,
        1000000 as max_clients
),
http as (
    select
        http_user_agent,
        -- A join key that keeps requests without a User-Agent (NULL) apart
        -- from an empty one.
        case when http_user_agent is null then 'none' else 'ua:' || http_user_agent end
            as agent_key,
        coalesce(http_requests, 1) as requests,
        src_ip,
        coalesce(server_name, dst_ip) as server,
        http_method,
        first_seen,
        last_seen
    from flows
    where http_method is not null
),
agents as (
    select
        agent_key,
        max(http_user_agent) as http_user_agent,
        count(*) as flows,
        sum(requests) as requests,
        count(distinct src_ip) as clients,
        count(distinct server) as servers,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from http
    group by agent_key
),
methods as (
    select agent_key, string_agg(http_method, ' ' order by http_method) as methods
    from (select distinct agent_key, http_method from http)
    group by agent_key
),
ranked as (
    select
        row_number() over (
            order by a.flows desc, a.clients desc, a.http_user_agent nulls last
        ) as rank,
        a.http_user_agent,
        a.flows,
        a.requests,
        a.clients,
        a.servers,
        m.methods,
        a.first_seen,
        a.last_seen
    from agents a
    join methods m on m.agent_key = a.agent_key
    cross join params p
    where a.clients <= p.max_clients
)
select r.*
from ranked r
cross join params p
where r.rank <= p.top_n
order by r.rank;
