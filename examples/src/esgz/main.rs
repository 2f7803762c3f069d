//! `esgz`: convert, inspect, verify and extract eStargz blobs.

fn main() {
    println!("esgz: not yet implemented");
}
