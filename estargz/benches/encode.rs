//! Benchmarks: one gzip member at several levels, and whole-tar encoding of a generated
//! in-memory tar (about 8 MiB: many small files and a few chunked ones) on 1 and 2 threads,
//! with every deflate backend compiled in.
//!
//! Run with `cargo bench -p estargz --bench encode --features libdeflate` (without the
//! feature, libdeflate is left out); add `-- --quick` for a short run.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use estargz::encoder::Encoder;
use estargz::gzip::{Backend, Compression, compress_member_with};
use estargz::tar::{TarHeader, TarTime, encode_end_of_archive, encode_header, padding};

/// Compressible but not trivial data: text-like runs with some noise.
fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 64 < 48 {
                b"the quick brown fox jumps over the lazy dog "[i % 44]
            } else {
                (x % 251) as u8
            }
        })
        .collect()
}

fn tar() -> Vec<u8> {
    let mut out = Vec::new();
    let mut add = |name: String, body: &[u8]| {
        let mut h = TarHeader::new(b'0', name);
        h.size = body.len() as i64;
        h.mode = 0o644;
        h.mtime = Some(TarTime::from_secs(1_700_000_000));
        encode_header(&h, &mut out).unwrap_or_default();
        out.extend_from_slice(body);
        out.resize(out.len() + padding(body.len() as u64) as usize, 0);
    };
    for i in 0..400 {
        add(format!("small/{i}"), &data(3000 + i * 7, i as u32));
    }
    for i in 0..3 {
        add(format!("big/{i}"), &data(2 << 20, 1000 + i));
    }
    encode_end_of_archive(&mut out);
    out
}

fn member(c: &mut Criterion) {
    let input = data(4 << 20, 7);
    let mut group = c.benchmark_group("gzip_member_4MiB");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    let level0 = Compression::NONE;
    group.bench_function("level0", |b| {
        b.iter(|| compress_member_with(black_box(&input), level0, Backend::default(), false))
    });
    for &backend in Backend::available() {
        for level in [1, 6, 9] {
            let level = Compression::new(level).unwrap_or_default();
            group.bench_function(format!("{}_level{level}", id(backend)), |b| {
                b.iter(|| {
                    compress_member_with(black_box(&input), level, backend, false).map(|m| m.len())
                })
            });
        }
    }
    group.finish();
}

fn whole_tar(c: &mut Criterion) {
    let input = tar();
    let mut group = c.benchmark_group("encode_tar");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    for &backend in Backend::available() {
        for threads in [1, 2] {
            let encoder = Encoder::builder()
                .level(Compression::new(6).unwrap_or_default())
                .backend(backend)
                .chunk_size(1 << 20)
                .threads(threads)
                .build();
            let Ok(encoder) = encoder else { return };
            let name = format!("{}_level6_threads{threads}", id(backend));
            group.bench_function(name, |b| {
                b.iter(|| {
                    encoder
                        .encode_read_at(black_box(&input[..]), std::io::sink())
                        .map(|e| e.blob_size)
                })
            });
        }
    }
    group.finish();
}

/// The backend's library name without its version, for benchmark names.
fn id(backend: Backend) -> &'static str {
    backend.name().split(' ').next().unwrap_or_default()
}

criterion_group!(benches, member, whole_tar);
criterion_main!(benches);
