//! Saving and loading models: weights as safetensors (`<stem>.safetensors`, little-endian f32)
//! next to a JSON description (`<stem>.json`) holding the format version, the configuration,
//! the training provenance and free-form metadata.
//!
//! Loading validates before it allocates: the format name and version, the configuration, and
//! every tensor's presence, dtype and shape against what the configuration implies. Malformed
//! input gives a typed [`Error`], never a panic.

use crate::config::ConvAeConfig;
use crate::error::{Error, Result};
use crate::model::ConvAutoencoder;
use crate::train_config::Provenance;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The `format` field of the JSON file.
pub const FORMAT_NAME: &str = "sonority-autoencoder";
/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    format_version: u32,
    weights: String,
    config: ConvAeConfig,
    n_params: usize,
    provenance: Option<Provenance>,
    #[serde(default)]
    metadata: BTreeMap<String, serde_json::Value>,
}

/// The safetensors file with its `__metadata__` keys in sorted order, so that saving the same
/// model twice writes the same bytes: `safetensors::serialize` takes the metadata as a
/// `HashMap` and writes it in that map's (per-process random) order; tensors are already sorted
/// by dtype and name. The data section is untouched (its offsets are relative to it).
fn canonical_header(data: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let n = data
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= data.len() - 8)
        .ok_or("safetensors header length out of range")?;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&data[8..8 + n]).map_err(|e| e.to_string())?;
    if let Some(serde_json::Value::Object(meta)) = header.remove("__metadata__") {
        let sorted: BTreeMap<String, serde_json::Value> = meta.into_iter().collect();
        let mut rebuilt = serde_json::Map::new();
        rebuilt.insert(
            "__metadata__".into(),
            serde_json::Value::Object(sorted.into_iter().collect()),
        );
        rebuilt.extend(header);
        header = rebuilt;
    }
    let mut json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    // The format pads the header with spaces to a multiple of 8 bytes.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + data.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data[8 + n..]);
    Ok(out)
}

/// `(weights, json)` paths for a path given with or without extension.
fn paths(path: &Path) -> (PathBuf, PathBuf) {
    (
        path.with_extension("safetensors"),
        path.with_extension("json"),
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The tensor `name` of `st` as `f32` values, checked for its type, its `shape` and finite
/// values (`what` names the weights in [`Error::NonFinite`]); `path` names the file in errors.
pub(crate) fn f32_tensor(
    st: &SafeTensors<'_>,
    path: &Path,
    name: &str,
    shape: &[usize],
    what: &'static str,
) -> Result<Vec<f32>> {
    let view = st.tensor(name).map_err(|_| Error::MissingTensor {
        path: path.to_path_buf(),
        name: name.to_owned(),
    })?;
    if view.dtype() != Dtype::F32 {
        return Err(format_err(
            path,
            format!("tensor {name} is {:?}, expected F32", view.dtype()),
        ));
    }
    if view.shape() != shape {
        return Err(Error::ShapeMismatch {
            what: format!("tensor {name} in {}", path.display()),
            expected: shape.to_vec(),
            actual: view.shape().to_vec(),
        });
    }
    let vals: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if vals.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite { what });
    }
    Ok(vals)
}

fn format_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl ConvAutoencoder {
    /// Saves the model as `<stem>.safetensors` and `<stem>.json` (any extension of `path` is
    /// replaced). Deterministic: the same model saved twice under the same file name gives the
    /// same bytes (tensors sorted by name, metadata keys sorted), so files can be hashed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be written, candle errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder};
    ///
    /// let dir = std::env::temp_dir().join("sonority-ae-doc");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let model = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 1)?;
    /// model.save(dir.join("fused"))?;
    /// let back = ConvAutoencoder::load(dir.join("fused.json"))?;
    /// assert_eq!(back.n_params(), 17_401);
    /// # Ok::<(), sonority_autoencoders::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (wpath, jpath) = paths(path.as_ref());
        let name = wpath
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (json, data) = self.to_bytes(&name).map_err(|e| match e {
            Error::Format { reason, .. } => format_err(&wpath, reason),
            other => other,
        })?;
        std::fs::write(&wpath, data).map_err(io_err(&wpath))?;
        std::fs::write(&jpath, json).map_err(io_err(&jpath))?;
        Ok(())
    }

    /// The two files [`save`](Self::save) writes, in memory: `(json, safetensors)`, the JSON
    /// naming the weights file `weights_file_name`. The same bytes `save` writes, so they can
    /// be hashed or embedded in a program.
    ///
    /// # Errors
    ///
    /// Candle errors, [`Error::Format`] when serialisation fails.
    pub fn to_bytes(&self, weights_file_name: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let origin = Path::new(weights_file_name);
        let mut bytes: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, t) in self.named_params() {
            let v = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            bytes.push((name.clone(), t.dims().to_vec(), b));
        }
        let mut views = Vec::new();
        for (name, shape, b) in &bytes {
            let view =
                TensorView::new(Dtype::F32, shape.clone(), b).map_err(|e| format_err(origin, e))?;
            views.push((name.clone(), view));
        }
        let info: HashMap<String, String> = [
            ("format".to_string(), FORMAT_NAME.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ]
        .into();
        let data = safetensors::serialize(views, Some(info)).map_err(|e| format_err(origin, e))?;
        let data = canonical_header(data).map_err(|e| format_err(origin, e))?;
        let file = ModelFile {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            weights: weights_file_name.to_string(),
            config: self.config().clone(),
            n_params: self.n_params(),
            provenance: self.provenance().cloned(),
            metadata: self.metadata().clone(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| format_err(origin, e))?;
        Ok((json, data))
    }

    /// Loads a model saved by [`save`](Self::save); `path` may name either file or the stem.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be read, [`Error::UnsupportedVersion`] for a newer
    /// format, [`Error::Format`] for malformed files, [`Error::InvalidConfig`] for a bad stored
    /// configuration, [`Error::MissingTensor`] and [`Error::ShapeMismatch`] when the weights do
    /// not fit the configuration.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let (wpath, jpath) = paths(path.as_ref());
        let json = std::fs::read(&jpath).map_err(io_err(&jpath))?;
        // The description is checked before the weights are read.
        let file = Self::check_description(&json, &jpath)?;
        let data = std::fs::read(&wpath).map_err(io_err(&wpath))?;
        Self::from_checked(file, &data, &wpath)
    }

    /// Loads a model from the two files' bytes (as [`to_bytes`](Self::to_bytes) gives them);
    /// `origin` is the path used to name the files in errors (`<stem>.json` and
    /// `<stem>.safetensors`). Validates exactly as [`load`](Self::load) does.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), but for I/O.
    pub fn from_bytes(json: &[u8], weights: &[u8], origin: &Path) -> Result<Self> {
        let (wpath, jpath) = paths(origin);
        let file = Self::check_description(json, &jpath)?;
        Self::from_checked(file, weights, &wpath)
    }

    /// The model of a checked description and its weights (`wpath` names them in errors).
    fn from_checked(file: ModelFile, data: &[u8], wpath: &Path) -> Result<Self> {
        let wpath = wpath.to_path_buf();
        let expected = param_shapes(&file.config);
        let st = SafeTensors::deserialize(data).map_err(|e| format_err(&wpath, e))?;
        let mut tensors = HashMap::new();
        for (name, shape) in &expected {
            let vals = f32_tensor(&st, &wpath, name, shape, "model weights")?;
            tensors.insert(
                name.clone(),
                Tensor::from_vec(vals, shape.as_slice(), &Device::Cpu)?,
            );
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let mut model = Self::new(&file.config, vb)?;
        model.set_provenance(file.provenance);
        *model.metadata_mut() = file.metadata;
        Ok(model)
    }
}

impl ConvAutoencoder {
    /// Parses and validates the JSON description: format name, version, configuration.
    fn check_description(json: &[u8], jpath: &Path) -> Result<ModelFile> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format_err(jpath, e))?;
        if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT_NAME) {
            return Err(format_err(jpath, format!("not a {FORMAT_NAME} file")));
        }
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format_err(jpath, "missing format_version"))?;
        if version > u64::from(FORMAT_VERSION) || version == 0 {
            return Err(Error::UnsupportedVersion {
                path: jpath.to_path_buf(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let file: ModelFile = serde_json::from_value(value).map_err(|e| format_err(jpath, e))?;
        file.config.validate()?;
        Ok(file)
    }
}

/// Every parameter's name and shape for a configuration, without building the model.
/// Adds a layer's weight and bias shapes.
fn push_shape(out: &mut Vec<(String, Vec<usize>)>, name: &str, weight: Vec<usize>, bias: usize) {
    out.push((format!("{name}.weight"), weight));
    out.push((format!("{name}.bias"), vec![bias]));
}

pub(crate) fn param_shapes(cfg: &ConvAeConfig) -> Vec<(String, Vec<usize>)> {
    let (kh, kw) = cfg.kernel_hw();
    let in_c = cfg.input_hwc()[2];
    let wshape = |cin: usize, cout: usize| {
        if kh == 1 {
            vec![kw, cin, cout]
        } else {
            vec![kh, kw, cin, cout]
        }
    };
    let mut out = Vec::new();
    let push = |out: &mut Vec<(String, Vec<usize>)>, name: String, cin: usize, cout: usize| {
        push_shape(out, &name, wshape(cin, cout), cout);
    };
    let mut c = in_c;
    for (i, &o) in cfg.channels.iter().enumerate() {
        push(&mut out, format!("encoder.conv{i}"), c, o);
        c = o;
    }
    let (ph, pw) = cfg.pool_hw();
    for (i, &o) in cfg.channels.iter().rev().enumerate() {
        if cfg.geometry == crate::config::Geometry::Strided2d {
            // A 1 × 1 convolution to pool² × o channels (Conv1D layout, kernel 1).
            let name = format!("decoder.conv{i}");
            push_shape(&mut out, &name, vec![1, c, o * ph * pw], o * ph * pw);
        } else {
            push(&mut out, format!("decoder.conv{i}"), c, o);
        }
        c = o;
    }
    push(&mut out, "output".into(), c, in_c);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
