//! The wishlist custom object (`Wishlist_Item__c`, the crate's default names) as the org holds
//! it: rows in memory behind one lock, written through the sObject resources (create, upsert
//! and delete by the `Samlet_Key__c` external id, delete by record id) and read through SOQL
//! and single-record reads. Record ids and auto-numbers come from a counter, so a run is
//! deterministic; `CreatedDate` / `LastModifiedDate` are the wall clock.
//!
//! Validation follows what the org's setup would enforce, with Salesforce's error codes:
//! unknown fields (`INVALID_FIELD`), system fields (`INVALID_FIELD_FOR_INSERT_UPDATE`), missing
//! required fields (`REQUIRED_FIELD_MISSING`), lookups to records that are not there
//! (`FIELD_INTEGRITY_EXCEPTION`, `INVALID_CROSS_REFERENCE_KEY`), the restricted channel
//! picklist (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`), unparseable date-times
//! (`JSON_PARSER_ERROR`), text over 255 characters (`STRING_TOO_LONG`) and the unique key
//! (`DUPLICATE_VALUE`).

use super::records::{self, Held, Obj};
use super::soql::Select;
use super::SfError;
use crate::config::parse_api_version;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use samlet_testkit::World;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// The object's API name.
pub(crate) const OBJECT: &str = "Wishlist_Item__c";
/// The unique external-id field.
pub(crate) const KEY: &str = "Samlet_Key__c";
const CONTACT: &str = "Contact__c";
const ACCOUNT: &str = "Account__c";
const NUMBER: &str = "Customer_Number__c";
const SKU: &str = "SKU__c";
const ADDED_AT: &str = "Added_At__c";
const CHANNEL: &str = "Channel__c";
/// The object's key prefix in this org (custom objects get `a0…` prefixes).
const PREFIX: &str = "a0W";
const FIELDS: [&str; 11] = [
    "Id",
    "Name",
    CONTACT,
    ACCOUNT,
    NUMBER,
    SKU,
    ADDED_AT,
    CHANNEL,
    KEY,
    "CreatedDate",
    "LastModifiedDate",
];
/// Fields the system sets; a write naming them is refused.
const SYSTEM: [&str; 4] = ["Id", "Name", "CreatedDate", "LastModifiedDate"];
/// The fields the simulator filters on (through an index).
const FILTERABLE: [&str; 3] = ["Id", KEY, NUMBER];
/// The restricted picklist's values.
const CHANNELS: [&str; 6] = ["web", "app", "store", "kiosk", "pos", "email"];
/// Text fields' length.
const MAX_TEXT: usize = 255;
/// From this API version on, an upsert that updates answers 200 with a body (before: 204).
const UPSERT_BODY_FROM: (u32, u32) = (46, 0);

/// Whether `name` is this object.
pub(crate) fn is_object(name: &str) -> bool {
    name.eq_ignore_ascii_case(OBJECT)
}

/// A field's canonical name.
fn field(name: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .copied()
        .find(|f| f.eq_ignore_ascii_case(name))
}

fn record_id(seq: u64) -> String {
    format!("{PREFIX}Sa{seq:010}AAA")
}

fn parse_id(id: &str) -> Option<u64> {
    let rest = id.strip_prefix(PREFIX)?.strip_prefix("Sa")?;
    let digits = match rest.len() {
        10 => rest,
        13 => rest.strip_suffix("AAA")?,
        _ => return None,
    };
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())
        .flatten()
}

fn datetime(t: DateTime<Utc>) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
}

fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn not_found() -> SfError {
    SfError::not_found()
}

fn invalid_field(name: &str) -> SfError {
    SfError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_FIELD",
        format!("No such column '{name}' on sobject of type {OBJECT}"),
    )
}

fn no_external_id(name: &str) -> SfError {
    SfError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("Provided external ID field does not exist or is not accessible: {name}"),
    )
}

fn key_index(value: &str) -> String {
    // Unique text fields are case-insensitive unless set up otherwise.
    value.to_lowercase()
}

/// The rows.
#[derive(Default)]
pub(crate) struct Wishlists {
    inner: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    rows: BTreeMap<u64, Map<String, Value>>,
    by_key: HashMap<String, u64>,
    by_number: HashMap<String, BTreeSet<u64>>,
    deleted: HashSet<u64>,
    next: u64,
}

fn text_of<'m>(row: &'m Map<String, Value>, f: &str) -> Option<&'m str> {
    row.get(f).and_then(Value::as_str)
}

impl Store {
    fn index(&mut self, seq: u64, row: &Map<String, Value>) {
        if let Some(k) = text_of(row, KEY) {
            self.by_key.insert(key_index(k), seq);
        }
        if let Some(n) = text_of(row, NUMBER) {
            self.by_number.entry(key_index(n)).or_default().insert(seq);
        }
    }

    fn unindex(&mut self, seq: u64) {
        let Some(row) = self.rows.get(&seq) else {
            return;
        };
        let key = text_of(row, KEY).map(key_index);
        let number = text_of(row, NUMBER).map(key_index);
        if let Some(k) = key {
            if self.by_key.get(&k) == Some(&seq) {
                self.by_key.remove(&k);
            }
        }
        if let Some(n) = number {
            if let Some(set) = self.by_number.get_mut(&n) {
                set.remove(&seq);
                if set.is_empty() {
                    self.by_number.remove(&n);
                }
            }
        }
    }

    fn by_key(&self, value: &str) -> Option<u64> {
        self.by_key.get(&key_index(value)).copied()
    }

    /// Refuses a row whose key another row holds.
    fn check_unique(&self, seq: u64, row: &Map<String, Value>) -> Result<(), SfError> {
        match text_of(row, KEY).and_then(|k| self.by_key(k)) {
            Some(other) if other != seq => Err(SfError::new(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {KEY} duplicates value on record with id: {}",
                    record_id(other)
                ),
            )
            .on_fields(&[KEY])),
            _ => Ok(()),
        }
    }

    /// Stores `row` as `seq`, replacing what was there.
    fn put(&mut self, seq: u64, mut row: Map<String, Value>) {
        row.insert("LastModifiedDate".into(), datetime(Utc::now()));
        self.unindex(seq);
        self.index(seq, &row);
        self.rows.insert(seq, row);
    }

    fn new_row(&mut self) -> (u64, Map<String, Value>) {
        self.next += 1;
        let seq = self.next;
        let mut row = Map::new();
        for f in FIELDS {
            row.insert(f.into(), Value::Null);
        }
        row.insert("Id".into(), Value::String(record_id(seq)));
        row.insert("Name".into(), Value::String(format!("WI-{seq:07}")));
        row.insert("CreatedDate".into(), datetime(Utc::now()));
        (seq, row)
    }

    fn delete(&mut self, seq: u64) {
        self.unindex(seq);
        self.rows.remove(&seq);
        self.deleted.insert(seq);
    }
}

/// Applies a write body to `row`, field by field, as the org's validation would.
fn apply(world: &World, row: &mut Map<String, Value>, body: &Value) -> Result<(), SfError> {
    let Value::Object(body) = body else {
        return Err(SfError::new(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "The request body must be a JSON object of field values",
        ));
    };
    for (name, value) in body {
        if name == "attributes" {
            continue;
        }
        let f = field(name).ok_or_else(|| invalid_field(name))?;
        if SYSTEM.contains(&f) {
            return Err(SfError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {f}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."
                ),
            )
            .on_fields(&[f]));
        }
        let text = match value {
            Value::Null => {
                row.insert(f.into(), Value::Null);
                continue;
            }
            Value::String(s) => s.as_str(),
            other => {
                return Err(SfError::new(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of string from {other} value for {f}"),
                ))
            }
        };
        let stored = match f {
            CONTACT | ACCOUNT => {
                let (obj, label) = match f {
                    CONTACT => (Obj::Contact, "Contact"),
                    _ => (Obj::Account, "Account"),
                };
                let Some(i) = records::parse_id(obj, text) else {
                    return Err(SfError::new(
                        StatusCode::BAD_REQUEST,
                        "FIELD_INTEGRITY_EXCEPTION",
                        format!("{label} ID: id value of incorrect type: {text}"),
                    )
                    .on_fields(&[f]));
                };
                if !Held::get(world, i).is_some_and(|h| h.has(obj)) {
                    return Err(SfError::new(
                        StatusCode::BAD_REQUEST,
                        "INVALID_CROSS_REFERENCE_KEY",
                        format!("invalid cross reference id: {text}"),
                    )
                    .on_fields(&[f]));
                }
                Value::String(records::record_id(obj, i))
            }
            ADDED_AT => match parse_datetime(text) {
                Some(t) => datetime(t),
                None => {
                    return Err(SfError::new(
                        StatusCode::BAD_REQUEST,
                        "JSON_PARSER_ERROR",
                        format!(
                            "Cannot deserialize instance of datetime from VALUE_STRING value {text} or request may be missing a required field"
                        ),
                    ))
                }
            },
            CHANNEL => match CHANNELS.iter().find(|c| c.eq_ignore_ascii_case(text)) {
                Some(c) => Value::String((*c).to_owned()),
                None => {
                    return Err(SfError::new(
                        StatusCode::BAD_REQUEST,
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!("Channel: bad value for restricted picklist field: {text}"),
                    )
                    .on_fields(&[f]))
                }
            },
            _ if text.chars().count() > MAX_TEXT => {
                return Err(SfError::new(
                    StatusCode::BAD_REQUEST,
                    "STRING_TOO_LONG",
                    format!("{f}: data value too large: {text} (max length={MAX_TEXT})"),
                )
                .on_fields(&[f]))
            }
            _ => Value::String(text.to_owned()),
        };
        row.insert(f.into(), stored);
    }
    Ok(())
}

/// Refuses a new row without the fields the object requires.
fn check_required(row: &Map<String, Value>) -> Result<(), SfError> {
    let missing: Vec<&str> = [NUMBER, SKU]
        .into_iter()
        .filter(|f| text_of(row, f).is_none_or(str::is_empty))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SfError::new(
        StatusCode::BAD_REQUEST,
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", missing.join(", ")),
    )
    .on_fields(&missing))
}

fn attributes(version: &str, id: &str) -> Value {
    json!({ "type": OBJECT, "url": format!("/services/data/{version}/sobjects/{OBJECT}/{id}") })
}

fn render(version: &str, row: &Map<String, Value>, select: &[&str]) -> Value {
    let mut m = Map::new();
    let id = text_of(row, "Id").unwrap_or_default();
    m.insert("attributes".into(), attributes(version, id));
    for f in select {
        m.insert((*f).into(), row.get(*f).cloned().unwrap_or(Value::Null));
    }
    Value::Object(m)
}

/// Compares two field values for ORDER BY: text (date-times are written so that text order
/// is time order), with nulls where the key puts them.
fn compare(a: &Value, b: &Value, nulls_last: bool) -> Ordering {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (None, None) => Ordering::Equal,
        (None, Some(_)) if nulls_last => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) if nulls_last => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
    }
}

impl Wishlists {
    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The records a parsed query selects, ordered and limited.
    pub(crate) fn query(&self, version: &str, q: &Select) -> Result<Vec<Value>, SfError> {
        let select: Vec<&'static str> = q
            .fields
            .iter()
            .map(|n| field(n).ok_or_else(|| invalid_field(n)))
            .collect::<Result<_, _>>()?;
        if q.filters.is_empty() {
            return Err(SfError::malformed(
                "the simulator answers only queries with a WHERE clause of IN / = conditions joined by OR",
            ));
        }
        let store = self.lock();
        let mut found = BTreeSet::new();
        for filter in &q.filters {
            let f = field(&filter.field).ok_or_else(|| invalid_field(&filter.field))?;
            if !FILTERABLE.contains(&f) {
                return Err(SfError::malformed(format!(
                    "the simulator cannot filter {OBJECT} on {}",
                    filter.field
                )));
            }
            for value in &filter.values {
                match f {
                    "Id" => found.extend(parse_id(value).filter(|s| store.rows.contains_key(s))),
                    KEY => found.extend(store.by_key(value)),
                    _ => {
                        if let Some(set) = store.by_number.get(&key_index(value)) {
                            found.extend(set.iter().copied());
                        }
                    }
                }
            }
        }
        let order: Vec<(&'static str, bool, bool)> = q
            .order
            .iter()
            .map(|o| {
                field(&o.field)
                    .map(|f| (f, o.descending, o.nulls_last))
                    .ok_or_else(|| invalid_field(&o.field))
            })
            .collect::<Result<_, _>>()?;
        let mut rows: Vec<&Map<String, Value>> =
            found.iter().filter_map(|s| store.rows.get(s)).collect();
        rows.sort_by(|a, b| {
            order
                .iter()
                .map(|&(f, descending, nulls_last)| {
                    let (x, y) = (
                        a.get(f).unwrap_or(&Value::Null),
                        b.get(f).unwrap_or(&Value::Null),
                    );
                    let o = compare(x, y, nulls_last);
                    // Descending reverses values, not where the nulls go.
                    if descending && !x.is_null() && !y.is_null() {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        if let Some(limit) = q.limit {
            rows.truncate(limit);
        }
        Ok(rows.iter().map(|r| render(version, r, &select)).collect())
    }

    /// `GET /sobjects/Wishlist_Item__c/{Id}`.
    pub(crate) fn get_by_id(&self, version: &str, id: &str) -> Result<Value, SfError> {
        let store = self.lock();
        let row = parse_id(id)
            .and_then(|s| store.rows.get(&s))
            .ok_or_else(not_found)?;
        Ok(render(version, row, &FIELDS))
    }

    /// `GET /sobjects/Wishlist_Item__c/Samlet_Key__c/{value}`.
    pub(crate) fn get_by_key(
        &self,
        version: &str,
        name: &str,
        value: &str,
    ) -> Result<Value, SfError> {
        if field(name) != Some(KEY) {
            return Err(no_external_id(name));
        }
        let store = self.lock();
        let row = store
            .by_key(value)
            .and_then(|s| store.rows.get(&s))
            .ok_or_else(not_found)?;
        Ok(render(version, row, &FIELDS))
    }

    /// `POST /sobjects/Wishlist_Item__c`: a new record; a key another record holds is
    /// `DUPLICATE_VALUE`.
    pub(crate) fn create(&self, world: &World, body: &Value) -> Result<Value, SfError> {
        let mut store = self.lock();
        let (seq, mut row) = store.new_row();
        apply(world, &mut row, body)?;
        check_required(&row)?;
        store.check_unique(seq, &row)?;
        let id = record_id(seq);
        store.put(seq, row);
        Ok(json!({ "id": id, "success": true, "errors": [] }))
    }

    /// `PATCH /sobjects/Wishlist_Item__c/Samlet_Key__c/{value}`: updates the record with that
    /// key, or creates it. Answers the status and the body (none for a 204).
    pub(crate) fn upsert(
        &self,
        world: &World,
        version: &str,
        name: &str,
        value: &str,
        body: &Value,
    ) -> Result<(StatusCode, Option<Value>), SfError> {
        if field(name) != Some(KEY) {
            return Err(no_external_id(name));
        }
        let mut store = self.lock();
        if let Some(seq) = store.by_key(value) {
            let mut row = store.rows.get(&seq).cloned().ok_or_else(not_found)?;
            apply(world, &mut row, body)?;
            store.check_unique(seq, &row)?;
            let id = record_id(seq);
            store.put(seq, row);
            let with_body = version
                .strip_prefix('v')
                .and_then(parse_api_version)
                .is_some_and(|v| v >= UPSERT_BODY_FROM);
            return Ok(match with_body {
                true => (
                    StatusCode::OK,
                    Some(json!({ "id": id, "success": true, "errors": [], "created": false })),
                ),
                false => (StatusCode::NO_CONTENT, None),
            });
        }
        let (seq, mut row) = store.new_row();
        row.insert(KEY.into(), Value::String(value.to_owned()));
        apply(world, &mut row, body)?;
        check_required(&row)?;
        store.check_unique(seq, &row)?;
        let id = record_id(seq);
        store.put(seq, row);
        Ok((
            StatusCode::CREATED,
            Some(json!({ "id": id, "success": true, "errors": [], "created": true })),
        ))
    }

    /// `DELETE /sobjects/Wishlist_Item__c/Samlet_Key__c/{value}`: 404 `NOT_FOUND` when no
    /// record has the key.
    pub(crate) fn delete_by_key(&self, name: &str, value: &str) -> Result<(), SfError> {
        if field(name) != Some(KEY) {
            return Err(no_external_id(name));
        }
        let mut store = self.lock();
        let seq = store.by_key(value).ok_or_else(not_found)?;
        store.delete(seq);
        Ok(())
    }

    /// `DELETE /sobjects/Wishlist_Item__c/{Id}`: 404 `ENTITY_IS_DELETED` for a record deleted
    /// before, `NOT_FOUND` for one never made.
    pub(crate) fn delete_by_id(&self, id: &str) -> Result<(), SfError> {
        let mut store = self.lock();
        let seq = parse_id(id).ok_or_else(not_found)?;
        if store.deleted.contains(&seq) {
            return Err(SfError::new(
                StatusCode::NOT_FOUND,
                "ENTITY_IS_DELETED",
                "entity is deleted",
            ));
        }
        if !store.rows.contains_key(&seq) {
            return Err(not_found());
        }
        store.delete(seq);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(parse_id(&record_id(7)), Some(7));
        assert_eq!(parse_id(&record_id(7)[..15]), Some(7));
        assert_eq!(parse_id("003Sa0000000007AAA"), None);
    }

    #[test]
    fn nulls_sort_first_unless_told_otherwise() {
        let (a, n) = (json!("2024-01-01T00:00:00.000+0000"), Value::Null);
        assert_eq!(compare(&n, &a, false), Ordering::Less);
        assert_eq!(compare(&n, &a, true), Ordering::Greater);
        assert_eq!(
            compare(&a, &json!("2024-01-02T00:00:00.000+0000"), false),
            Ordering::Less
        );
    }
}
