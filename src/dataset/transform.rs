//! The last step before a sink: labels, address anonymization and the removal
//! of identifiers, applied to each record batch in that order (labels match the
//! real addresses written in the rules; anonymization and removal only change
//! what is written).

use super::cryptopan::CryptoPan;
use super::labels::columns::{Conversion, Source, resolve};
use super::labels::{FlowFacts, LabelCounts, RuleSet, Verdict};
use anyhow::bail;
use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, Int64Builder, StringArray, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use flowq_extract::batch::Column;
use flowq_extract::batch::role::{Role, TimeUnit, role_of};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

/// What to do to the flows before they are written.
#[derive(Debug, Clone, Default)]
pub struct TransformSpec {
    /// Label rules (`--labels`).
    pub labels: Option<Arc<RuleSet>>,
    /// Prefix-preserving anonymization of addresses (`--anonymize`).
    pub anonymize: Option<Arc<CryptoPan>>,
    /// Leave out addresses, ports, absolute times and ids (`--drop-identifiers`).
    pub drop_identifiers: bool,
}

impl TransformSpec {
    /// Whether the spec changes anything.
    pub fn is_identity(&self) -> bool {
        self.labels.is_none() && self.anonymize.is_none() && !self.drop_identifiers
    }
}

/// The column holding each flow's first-packet time, and the factor that turns
/// its values into microseconds (labels and time partitions both need it).
pub fn start_time_column(columns: &[Column]) -> Option<(usize, i64)> {
    columns
        .iter()
        .enumerate()
        .find_map(|(i, c)| match role_of(c) {
            Role::StartTime(TimeUnit::Micros) => Some((i, 1)),
            Role::StartTime(TimeUnit::Millis) => Some((i, 1_000)),
            _ => None,
        })
}

/// Applies a [`TransformSpec`] to the batches of one output.
pub struct FlowTransform {
    spec: TransformSpec,
    roles: Vec<Role>,
    /// Input columns kept, in order.
    keep: Vec<usize>,
    output: SchemaRef,
    counts: Option<LabelCounts>,
    /// Where each column the rules' conditions name comes from (RuleSet::columns order).
    rule_columns: Vec<Source>,
}

/// The names of the columns the label rules add.
pub const LABEL_COLUMN: &str = "label";
/// Which rule labelled the flow (null for the default label).
pub const LABEL_RULE_COLUMN: &str = "label_rule";
/// The labelling rule's category (the CIC rule sets' "Attempted" category),
/// added when the rule set has categories.
pub const LABEL_CATEGORY_COLUMN: &str = "label_category";

impl FlowTransform {
    /// A transform of batches with `columns` (and `schema`, built from them).
    pub fn new(
        spec: TransformSpec,
        columns: &[Column],
        schema: &SchemaRef,
    ) -> anyhow::Result<Self> {
        let roles: Vec<Role> = columns.iter().map(role_of).collect();
        let mut rule_columns = Vec::new();
        if let Some(rules) = &spec.labels {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            for name in &rules.columns {
                rule_columns.push(resolve(name, columns, &names).map_err(anyhow::Error::msg)?);
            }
            let has = |wanted: fn(Role) -> bool| roles.iter().any(|r| wanted(*r));
            if !has(|r| r == Role::SrcAddress) || !has(|r| r == Role::DstAddress) {
                bail!("--labels needs the src_ip and dst_ip columns, which this profile lacks");
            }
            if rules.needs_time() && !has(|r| matches!(r, Role::StartTime(_))) {
                bail!(
                    "the label rules have time windows, but this profile has no flow start \
                     time (the seed profile has none; the cic profiles need --cic-timestamp utc)"
                );
            }
        }
        let keep: Vec<usize> = (0..columns.len())
            .filter(|&i| !(spec.drop_identifiers && roles[i].identifies()))
            .collect();
        let mut fields: Vec<Field> = keep.iter().map(|&i| schema.field(i).clone()).collect();
        let cic_label = roles.contains(&Role::CicLabel);
        if spec.labels.is_some() {
            if !cic_label {
                fields.push(Field::new(LABEL_COLUMN, DataType::Utf8, false));
            }
            fields.push(Field::new(LABEL_RULE_COLUMN, DataType::Utf8, true));
        }
        if spec.labels.as_ref().is_some_and(|r| r.has_categories()) {
            fields.push(Field::new(LABEL_CATEGORY_COLUMN, DataType::Int64, true));
        }
        let output = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let counts = spec.labels.as_deref().map(LabelCounts::new);
        Ok(FlowTransform {
            spec,
            roles,
            keep,
            output,
            counts,
            rule_columns,
        })
    }

    /// The schema of the transformed batches.
    pub fn schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// A profile's published CSV header (one name per input column, joined by
    /// commas) with the same columns dropped and added as the batches.
    pub fn csv_header(&self, header: &str) -> String {
        let names: Vec<&str> = header.split(',').collect();
        if names.len() != self.roles.len() {
            // Not one name per column: fall back to the schema's names.
            return self
                .output
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(",");
        }
        let mut out: Vec<&str> = self.keep.iter().map(|&i| names[i]).collect();
        if self.spec.labels.is_some() {
            if !self.roles.contains(&Role::CicLabel) {
                out.push(LABEL_COLUMN);
            }
            out.push(LABEL_RULE_COLUMN);
        }
        if self
            .spec
            .labels
            .as_ref()
            .is_some_and(|r| r.has_categories())
        {
            out.push(LABEL_CATEGORY_COLUMN);
        }
        out.join(",")
    }

    /// Label counts so far (None without rules).
    pub fn label_counts(&self) -> Option<&LabelCounts> {
        self.counts.as_ref()
    }

    /// The transformed batch.
    pub fn apply(&mut self, batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
        if self.spec.is_identity() {
            return Ok(batch.clone());
        }
        let labels = match &self.spec.labels {
            Some(rules) => Some(self.label(rules.clone().as_ref(), batch)?),
            None => None,
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.output.fields().len());
        for &i in &self.keep {
            let column = batch.column(i);
            let column = match (self.roles[i], &self.spec.anonymize, &labels) {
                (Role::CicLabel, _, Some((label, ..))) => label.clone(),
                (Role::SrcAddress | Role::DstAddress, Some(pan), _) => {
                    map_text(column, |s, out| anonymize_ip(pan, s, out))?
                }
                (Role::Mac | Role::Oui, Some(pan), _) => {
                    map_text(column, |s, out| anonymize_mac(pan, s, out))?
                }
                (Role::CicFlowId, Some(pan), _) => {
                    map_text(column, |s, out| anonymize_cic_flow_id(pan, s, out))?
                }
                _ => column.clone(),
            };
            columns.push(column);
        }
        if let Some((label, rule, category)) = labels {
            if !self.roles.contains(&Role::CicLabel) {
                columns.push(label);
            }
            columns.push(rule);
            if let Some(category) = category {
                columns.push(category);
            }
        }
        Ok(RecordBatch::try_new(self.output.clone(), columns)?)
    }

    /// The `label`, `label_rule` and (with categories) `label_category`
    /// columns of `batch`.
    fn label(
        &mut self,
        rules: &RuleSet,
        batch: &RecordBatch,
    ) -> anyhow::Result<(ArrayRef, ArrayRef, Option<ArrayRef>)> {
        let find = |wanted: fn(Role) -> bool| self.roles.iter().position(|r| wanted(*r));
        let text = |i: Option<usize>| -> anyhow::Result<Option<ArrayRef>> {
            i.map(|i| cast(batch.column(i), &DataType::Utf8))
                .transpose()
                .map_err(Into::into)
        };
        let int = |i: Option<usize>| -> anyhow::Result<Option<Int64Array>> {
            Ok(match i {
                None => None,
                Some(i) => Some(
                    cast(batch.column(i), &DataType::Int64)?
                        .as_primitive()
                        .clone(),
                ),
            })
        };
        let src = text(find(|r| r == Role::SrcAddress))?;
        let dst = text(find(|r| r == Role::DstAddress))?;
        let src_port = int(find(|r| r == Role::SrcPort))?;
        let dst_port = int(find(|r| r == Role::DstPort))?;
        let protocol = int(find(|r| r == Role::Protocol))?;
        let start_at = find(|r| matches!(r, Role::StartTime(_)));
        let start = int(start_at)?;
        let start_scale = match start_at.map(|i| self.roles[i]) {
            Some(Role::StartTime(TimeUnit::Millis)) => 1_000,
            _ => 1,
        };
        let address = |a: &Option<ArrayRef>, row: usize| -> Option<IpAddr> {
            let a = a.as_ref()?.as_string::<i32>();
            (!a.is_null(row))
                .then(|| a.value(row).parse().ok())
                .flatten()
        };
        let number = |a: &Option<Int64Array>, row: usize| -> Option<i64> {
            let a = a.as_ref()?;
            (!a.is_null(row)).then(|| a.value(row))
        };
        // The condition columns as numbers, converted to the rules' units.
        let condition_columns: Vec<Float64Array> = self
            .rule_columns
            .iter()
            .map(|source| -> anyhow::Result<Float64Array> {
                let values = cast(batch.column(source.index), &DataType::Float64)?;
                let values: &Float64Array = values.as_primitive();
                Ok(match source.conversion {
                    Conversion::Same => values.clone(),
                    conversion => values.unary(|v| conversion.apply(v)),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let rows = batch.num_rows();
        let mut labels = StringBuilder::with_capacity(rows, rows * 8);
        let mut rule_ids = StringBuilder::with_capacity(rows, rows * 8);
        let mut categories = rules
            .has_categories()
            .then(|| Int64Builder::with_capacity(rows));
        let counts = self.counts.get_or_insert_with(|| LabelCounts::new(rules));
        let mut values: Vec<Option<f64>> = vec![None; condition_columns.len()];
        let mut matched = Vec::with_capacity(4);
        for row in 0..rows {
            for (value, column) in values.iter_mut().zip(&condition_columns) {
                *value = (!column.is_null(row)).then(|| column.value(row));
            }
            let facts = FlowFacts {
                src: address(&src, row),
                dst: address(&dst, row),
                src_port: number(&src_port, row).and_then(|p| u16::try_from(p).ok()),
                dst_port: number(&dst_port, row).and_then(|p| u16::try_from(p).ok()),
                protocol: number(&protocol, row).and_then(|p| u8::try_from(p).ok()),
                start_us: number(&start, row).map(|t| t.saturating_mul(start_scale)),
                values: &values,
            };
            let (label, winner, category) = match rules.classify_into(&facts, &mut matched) {
                Verdict::Rule(index, rule) => {
                    rule_ids.append_value(&rule.id);
                    (
                        &rule.label,
                        Some(index),
                        rule.category.or(rules.default_category),
                    )
                }
                Verdict::Default => {
                    rule_ids.append_null();
                    (&rules.default_label, None, rules.default_category)
                }
            };
            labels.append_value(label);
            if let Some(categories) = &mut categories {
                categories.append_option(category);
            }
            counts.count(label, winner, &matched);
        }
        let categories = categories.map(|mut c| Arc::new(c.finish()) as ArrayRef);
        Ok((
            Arc::new(labels.finish()),
            Arc::new(rule_ids.finish()),
            categories,
        ))
    }
}

/// Rewrites each non-null value of a text column.
fn map_text(column: &ArrayRef, f: impl Fn(&str, &mut String)) -> anyhow::Result<ArrayRef> {
    let text = cast(column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut out = String::with_capacity(48);
    let mapped: StringArray = text
        .iter()
        .map(|value| {
            value.map(|v| {
                out.clear();
                f(v, &mut out);
                out.clone()
            })
        })
        .collect();
    let mapped: ArrayRef = Arc::new(mapped);
    Ok(if column.data_type() == &DataType::Utf8 {
        mapped
    } else {
        cast(&mapped, column.data_type())?
    })
}

fn anonymize_ip(pan: &CryptoPan, text: &str, out: &mut String) {
    match text.parse::<IpAddr>() {
        Ok(address) => {
            let _ = write!(out, "{}", pan.ip(address));
        }
        // Not an address (an empty cell): nothing to hide.
        Err(_) => out.push_str(text),
    }
}

fn anonymize_mac(pan: &CryptoPan, text: &str, out: &mut String) {
    let bytes: Vec<u8> = text
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    if bytes.is_empty() || bytes.len() > 6 || bytes.len() != text.split(':').count() {
        out.push_str(text);
        return;
    }
    // A vendor prefix (3 bytes) is anonymized as the start of a full address:
    // prefix preservation makes it the prefix of the anonymized MACs.
    let mut mac = [0u8; 6];
    mac[..bytes.len()].copy_from_slice(&bytes);
    let anonymized = pan.mac(mac);
    for (i, b) in anonymized[..bytes.len()].iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

fn anonymize_cic_flow_id(pan: &CryptoPan, text: &str, out: &mut String) {
    // `src-dst-sport-dport-proto`; addresses never contain `-`.
    let mut parts = text.splitn(3, '-');
    let (Some(src), Some(dst), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        out.push_str(text);
        return;
    };
    anonymize_ip(pan, src, out);
    out.push('-');
    anonymize_ip(pan, dst, out);
    out.push('-');
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cic_flow_ids_and_macs_keep_their_shape() {
        let pan = CryptoPan::new(&[7; 32]);
        let mut out = String::new();
        anonymize_cic_flow_id(&pan, "10.0.0.1-10.0.0.2-1234-80-6", &mut out);
        let parts: Vec<&str> = out.split('-').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[0], pan.ip("10.0.0.1".parse().unwrap()).to_string());
        assert_eq!(&parts[2..], ["1234", "80", "6"]);
        let (mut mac, mut oui) = (String::new(), String::new());
        anonymize_mac(&pan, "00:1b:21:aa:bb:cc", &mut mac);
        anonymize_mac(&pan, "00:1b:21", &mut oui);
        assert_eq!(mac.len(), 17);
        assert!(mac.starts_with(&oui), "{mac} {oui}");
        let mut bad = String::new();
        anonymize_mac(&pan, "not-a-mac", &mut bad);
        assert_eq!(bad, "not-a-mac");
    }
}
