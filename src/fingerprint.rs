//! A model's identity in a catalogue: its name, dimension, header and a fingerprint of its
//! weights.

use sonority_store::{ModelInfo, content_hash_bytes};

use crate::Result;
use crate::model::Model;

/// [`Model::fingerprint`], as a function.
///
/// # Errors
/// As [`Model::fingerprint`].
pub fn model_fingerprint(model: &Model) -> Result<String> {
    let mut all = Vec::new();
    // The files in name order, each as its name, a NUL and its bytes (safetensors in a
    // canonical tensor order): the same bytes, hence the same fingerprint, as when this hashed
    // a saved directory, so fingerprints already recorded in catalogues stay valid.
    for (name, bytes) in model.to_files()? {
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        if name.ends_with(".safetensors") {
            canonical_safetensors(&bytes, &mut all);
        } else {
            all.extend_from_slice(&bytes);
        }
    }
    Ok(content_hash_bytes(&all)
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Model {
    /// A fingerprint of the model's parameters and settings: the XXH3-128 hash of its files
    /// (as [`to_files`](Self::to_files) gives them), in hex.
    ///
    /// Every catalogue (SQLite and PostgreSQL) records it with the model's name, so vectors of
    /// a same-named model with other weights are never mixed into one ranking.
    ///
    /// # Errors
    /// Serialisation errors (not expected for a valid model).
    pub fn fingerprint(&self) -> Result<String> {
        model_fingerprint(self)
    }
}

/// Appends a safetensors file's content in a canonical order (tensors by name, each as its
/// name, dtype, shape and bytes): writers may lay the same tensors out in any order.
fn canonical_safetensors(bytes: &[u8], out: &mut Vec<u8>) {
    let header = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| Some((n, bytes.get(8..8usize.checked_add(n)?)?)));
    let parsed = header.and_then(|(n, h)| {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(h)
            .ok()
            .map(|m| (n, m))
    });
    let Some((n, map)) = parsed else {
        out.extend_from_slice(bytes);
        return;
    };
    let data = bytes.get(8 + n..).unwrap_or_default();
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    for name in names {
        let v = &map[name];
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        let range = v.get("data_offsets").and_then(|o| {
            let b = usize::try_from(o.get(0)?.as_u64()?).ok()?;
            let e = usize::try_from(o.get(1)?.as_u64()?).ok()?;
            data.get(b..e)
        });
        match range {
            Some(t) => {
                out.extend_from_slice(
                    v.get("dtype")
                        .map(ToString::to_string)
                        .unwrap_or_default()
                        .as_bytes(),
                );
                out.extend_from_slice(
                    v.get("shape")
                        .map(ToString::to_string)
                        .unwrap_or_default()
                        .as_bytes(),
                );
                out.extend_from_slice(t);
            }
            None => out.extend_from_slice(v.to_string().as_bytes()),
        }
    }
}

/// The model as the catalogue records it: name, dimension, header and fingerprint.
///
/// # Errors
/// As [`model_fingerprint`].
pub fn model_info(model: &Model) -> Result<ModelInfo> {
    let config = serde_json::to_string(&model.header).unwrap_or_else(|_| "{}".into());
    Ok(ModelInfo::new(model.name(), model.output_dim())
        .with_config_json(config)
        .with_weights_hash(model_fingerprint(model)?))
}
