-- class_balance.sql: how many flows (and how much traffic) each label has.
--
-- Needs: a labelled dataset (flowq extract --labels).
-- Finds: the class distribution of a labelled dataset (`flowq extract ...
--   --labels RULES -o DATASET/`), per label and per label rule, so that a
--   training set's balance, and every rule's contribution, can be checked
--   before a model is trained on it.
--
-- Why it matters: IDS datasets are heavily imbalanced (a few attack flows in
--   millions of benign ones), and a rule that matches far more or far fewer
--   flows than its author expected is the usual sign of a wrong address or
--   time window. label_rule names the rule (its name, or FILE:LINE), so each
--   line of the result can be traced back to the rule file; an empty
--   label_rule is the default label (flows no rule matched).
--
-- Columns:
--   label         the class label
--   label_rule    the rule that gave it (empty for the default label)
--   flows         flows with this label from this rule
--   pct_of_flows  their share of all flows, in percent (3 decimals)
--   packets       packets of those flows (pkt_count)
--   bytes         bytes on the wire of those flows (byte_count)
--   captures      captures the flows come from (needs the `capture` partition
--                 column of a dataset partitioned by capture, the default)
--
-- Tuning: to see labels only, drop label_rule from both the select list and
--   the GROUP BY. For a CIC profile dataset, replace label with "Label" and
--   pkt_count / byte_count with that profile's totals.
select
    label,
    coalesce(label_rule, '') as label_rule,
    count(*) as flows,
    round(100.0 * count(*) / sum(count(*)) over (), 3) as pct_of_flows,
    sum(pkt_count) as packets,
    sum(byte_count) as bytes,
    count(distinct capture) as captures
from flows
group by label, label_rule
order by flows desc, label, label_rule;
