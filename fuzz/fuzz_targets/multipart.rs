//! The multipart parser never panics, and gives the same result however its input is cut.
#![no_main]

use estargz_mirror::{Boundary, Event, MultipartLimits, MultipartParser, PartHeader};
use libfuzzer_sys::fuzz_target;

/// Everything the parser reported, with body bytes joined per part.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    parts: Vec<(PartHeader, Vec<u8>)>,
    ended: usize,
    done: bool,
    ok: bool,
}

fn run(boundary: &Boundary, chunks: &[&[u8]]) -> Outcome {
    let mut limits = MultipartLimits::default();
    limits.max_header_size = 512;
    limits.max_parts = 64;
    limits.max_preamble = 4096;
    let mut parser = MultipartParser::new(boundary.clone(), limits);
    let mut out = Outcome::default();
    let mut on_event = |event: Event<'_>| -> Result<(), estargz_mirror::Error> {
        match event {
            Event::PartStart(head) => out.parts.push((head, Vec::new())),
            Event::Body(bytes) => {
                assert!(!bytes.is_empty(), "empty body event");
                let (head, body) = out.parts.last_mut().expect("body before a part started");
                body.extend_from_slice(bytes);
                assert!(
                    body.len() as u64 <= head.range.len(),
                    "part longer than its range"
                );
            }
            Event::PartEnd => {
                let (head, body) = out.parts.last().expect("part end without a part");
                assert_eq!(body.len() as u64, head.range.len(), "part ended early");
                out.ended += 1;
            }
            Event::Done => {
                assert!(!out.done, "done twice");
                out.done = true;
            }
            _ => {}
        }
        Ok(())
    };
    let mut result = Ok(());
    for chunk in chunks {
        result = parser.feed(chunk, &mut on_event);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = parser.finish(&mut on_event);
    }
    out.ok = result.is_ok();
    if out.ok {
        assert!(out.done && out.ended == out.parts.len());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // First byte: boundary length; then the boundary; the rest is the body.
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let len = usize::from(len % 16) + 1;
    if rest.len() < len {
        return;
    }
    let (boundary, body) = rest.split_at(len);
    let Ok(boundary) = std::str::from_utf8(boundary) else {
        return;
    };
    let Ok(boundary) = Boundary::new(boundary) else {
        return;
    };

    let whole = run(&boundary, &[body]);
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    let one_by_one = run(&boundary, &bytewise);
    assert_eq!(whole, one_by_one);
    let sevens: Vec<&[u8]> = body.chunks(7).collect();
    assert_eq!(whole, run(&boundary, &sevens));
});
