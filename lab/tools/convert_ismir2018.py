#!/usr/bin/env python3
"""Convert the ISMIR 2018 artist-label encoder's Keras weights into safetensors, once.

    python3 lab/tools/convert_ismir2018.py ../shared/models/ismir2018-artist/model_siamese_10000.h5 \
        models/default/artist.safetensors [--check ../shared/models/ismir2018-artist/golden]

Needs Python 3 with numpy and h5py (`pip install h5py`). Reads the five Conv1D and BatchNorm
layers of the HDF5 file (`model_weights/conv1d_N/conv1d_N/{kernel,bias}:0`,
`model_weights/batch_normalization_N/batch_normalization_N/{gamma,beta,moving_mean,
moving_variance}:0`, N = 1..5) and writes them unchanged, as little-endian f32, under the names
`convN.kernel` (k, C_in, C_out), `convN.bias`, `bnN.gamma`, `bnN.beta`, `bnN.mean`, `bnN.var`.
The optimiser state is left out. Nothing is folded or rounded: sonority folds the batch norm into
the convolution when it loads the file. The output is byte-for-byte reproducible (sorted names,
fixed metadata: the source file's sha256 and the licence notice).

With `--check DIR` (the `golden/` folder beside the weights), it first recomputes the front
end from DIR's WAV files with numpy alone, runs a float64 forward of the network, and compares
the log-mel frames and segment outputs with `reference.json`, refusing to write on a difference
above 1e-4: a check of this reading of the layout (the Rust port has its own parity test).
"""
import hashlib
import json
import struct
import sys

import h5py
import numpy as np

LICENCE = ("MIT License, Copyright (c) 2018 Jongpil Lee. Weights of the artist-label siamese "
           "model of Park, Lee, Park, Ha, Nam, 'Representation Learning of Music Using Artist "
           "Labels', ISMIR 2018 (jongpillee/ismir2018-artist, commit 68841d2). Trained on Million "
           "Song Dataset previews, which are not free audio.")


def read_layers(path):
    f = h5py.File(path, "r")
    w = f["model_weights"]
    out = {}
    for n in range(1, 6):
        conv = w[f"conv1d_{n}"][f"conv1d_{n}"]
        bn = w[f"batch_normalization_{n}"][f"batch_normalization_{n}"]
        out[f"conv{n}.kernel"] = np.asarray(conv["kernel:0"], dtype="<f4")
        out[f"conv{n}.bias"] = np.asarray(conv["bias:0"], dtype="<f4")
        out[f"bn{n}.gamma"] = np.asarray(bn["gamma:0"], dtype="<f4")
        out[f"bn{n}.beta"] = np.asarray(bn["beta:0"], dtype="<f4")
        out[f"bn{n}.mean"] = np.asarray(bn["moving_mean:0"], dtype="<f4")
        out[f"bn{n}.var"] = np.asarray(bn["moving_variance:0"], dtype="<f4")
    return out


def write_safetensors(tensors, metadata, path):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for b in blobs:
            out.write(b)


def forward(t, seg):
    """float64 forward of one [129, 128] standardised log-mel segment; returns (avg, max)."""
    x = seg.astype(np.float64)
    for n, pool in zip(range(1, 6), (4, 4, 4, 2, None)):
        k = t[f"conv{n}.kernel"].astype(np.float64)
        kk = k.shape[0]
        before = (kk - 1) // 2
        after = kk - 1 - before
        xp = np.pad(x, ((before, after), (0, 0)))
        y = sum(xp[i:i + x.shape[0]] @ k[i] for i in range(kk)) + t[f"conv{n}.bias"]
        y = (y - t[f"bn{n}.mean"]) / np.sqrt(t[f"bn{n}.var"].astype(np.float64) + 1e-3)
        y = y * t[f"bn{n}.gamma"] + t[f"bn{n}.beta"]
        y = np.maximum(y, 0.0)
        if pool:
            steps = y.shape[0] // pool
            y = y[: steps * pool].reshape(steps, pool, -1).max(axis=1)
        x = y
    return x.mean(axis=0), x.max(axis=0)


def check(t, golden):
    import os
    import wave
    ref = json.load(open(os.path.join(golden, "reference.json")))
    worst = 0.0
    for clip in ref.values():
        with wave.open(os.path.join(golden, clip["wav"])) as w:
            y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        n_fft, hop, sr = 1024, 512, 22050
        yp = np.pad(y, n_fft // 2)
        frames = 1 + len(y) // hop
        win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
        spec = np.abs(np.fft.rfft(np.stack([yp[i * hop:i * hop + n_fft] * win for i in range(frames)]), axis=1))
        mel = spec @ slaney_mel(sr, n_fft, 128).T
        logmel = np.log10(1 + 10 * mel)
        worst = max(worst, np.abs(logmel[0] - clip["logmel_first_frame"]).max(),
                    np.abs(logmel[100] - clip["logmel_frame_100"]).max())
        z = (logmel - 0.22620339) / 0.25794547
        for s in range(frames // 129):
            avg, mx = forward(t, z[s * 129:(s + 1) * 129])
            worst = max(worst, np.abs(avg - clip["segment_avg"][s]).max(),
                        np.abs(mx - clip["segment_max"][s]).max())
    print(f"largest difference from the golden outputs: {worst:.2e}")
    return worst < 1e-4


def slaney_mel(sr, n_fft, n_mels):
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        log = 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27)
        return np.where(f >= 1000, log, lin)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        lin = m * (200.0 / 3)
        log = 1000 * np.exp((np.log(6.4) / 27) * (m - 15))
        return np.where(m >= 15, log, lin)

    fft = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0, np.minimum(lower, upper))
    return w * (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--check"):
        print(__doc__)
        return 2
    src, dst = argv[1], argv[2]
    sha = hashlib.sha256(open(src, "rb").read()).hexdigest()
    tensors = read_layers(src)
    if len(argv) == 5 and not check(tensors, argv[4]):
        print("the numpy forward does not match the golden outputs", file=sys.stderr)
        return 1
    write_safetensors(tensors, {"source": "model_siamese_10000.h5", "source_sha256": sha,
                                "licence": LICENCE, "format": "keras-conv1d-bn-v1"}, dst)
    print(f"wrote {dst} ({sum(t.size for t in tensors.values())} parameters, source sha256 {sha})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
