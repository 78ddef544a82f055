// Shared body of the speed probes (included, not a module).
use candle_nn::Optimizer;
use sonority_autoencoders::{
    Autoencoder, ConvAeConfig, ConvAutoencoder, DType, Device, Encoder, Tensor,
};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let which = std::env::args().nth(1).unwrap_or_default();
    for (name, cfg) in [
        ("default", ConvAeConfig::default()),
        ("small_2d", ConvAeConfig::small_2d()),
        ("published_1d", ConvAeConfig::published_1d()),
        ("published_2d", ConvAeConfig::published_2d()),
    ] {
        if !which.is_empty() && which != name {
            continue;
        }
        let (m, map) = ConvAutoencoder::seeded_with_dtype(&cfg, 0, DType::F32)?;
        let mut opt = candle_nn::AdamW::new_lr(map.all_vars(), 1e-3)?;
        let x = (Tensor::rand(0f32, 1f32, (32, cfg.rows, cfg.cols), &Device::Cpu)?)
            .to_dtype(DType::F32)?;
        let steps = if name == "published_2d" { 1 } else { 5 };
        opt.backward_step(&m.loss(&x)?)?;
        let t = Instant::now();
        for _ in 0..steps {
            opt.backward_step(&m.loss(&x)?)?;
        }
        let step_s = t.elapsed().as_secs_f64() / steps as f64;
        let data = x.flatten_all()?.to_vec1::<f32>()?;
        let t = Instant::now();
        let _ = m.encode_batch(&data, 32, [cfg.rows, cfg.cols])?;
        let enc = t.elapsed().as_secs_f64();
        println!(
            "{name}: train step (batch 32) {step_s:.3} s = {:.2} steps/s; encode {:.1} tiles/s",
            1.0 / step_s,
            32.0 / enc
        );
    }
    Ok(())
}
