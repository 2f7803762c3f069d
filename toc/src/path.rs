//! Name cleaning: how every reader turns a TOC or tar name into a lookup key.

use std::borrow::Cow;

/// Cleans a name the way the reference reader does: `path.Clean("/" + name)` without the
/// leading `/`.
///
/// `./a`, `/a`, `a`, `../a` and `a/` all become `a`; `..` can never climb above the root,
/// so the result never contains a `..` component, never starts with `/`, and the root is
/// the empty name. Borrows when the name is already clean.
///
/// ```
/// use estargz_toc::path::clean;
/// assert_eq!(&*clean(b"./usr/bin/../lib/"), b"usr/lib");
/// assert_eq!(&*clean(b"../../etc/passwd"), b"etc/passwd");
/// assert_eq!(&*clean(b"./"), b"");
/// ```
pub fn clean(name: &[u8]) -> Cow<'_, [u8]> {
    let trimmed = trim_no_op_ends(name);
    if is_clean(trimmed) {
        return Cow::Borrowed(trimmed);
    }
    Cow::Owned(clean_components(name))
}

/// The general case of [`clean`]: walks the components, dropping empty ones and `.`, and
/// letting `..` remove the previous one (never climbing above the root).
fn clean_components(name: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(name.len());
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                let keep = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(keep);
            }
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(component);
            }
        }
    }
    out
}

/// Strips what cleaning always drops at the ends of a name: leading `./` and `/` components
/// and trailing slashes. Layer tars name almost every entry `./...`, so this lets [`clean`]
/// borrow for them too.
fn trim_no_op_ends(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = name.strip_suffix(b"/") {
        name = rest;
    }
    name
}

/// Whether [`clean`] would return `name` unchanged (so it can borrow).
fn is_clean(name: &[u8]) -> bool {
    name.is_empty()
        || name
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// The parent of a cleaned name (`""` for top-level names and for the root itself).
pub fn parent(cleaned: &[u8]) -> &[u8] {
    match cleaned.iter().rposition(|&b| b == b'/') {
        Some(slash) => &cleaned[..slash],
        None => b"",
    }
}

/// The last component of a cleaned name (the whole name for top-level names).
pub fn base(cleaned: &[u8]) -> &[u8] {
    match cleaned.iter().rposition(|&b| b == b'/') {
        Some(slash) => &cleaned[slash + 1..],
        None => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleans_like_go() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"/", b""),
            (b".", b""),
            (b"..", b""),
            (b"a", b"a"),
            (b"/a", b"a"),
            (b"./a", b"a"),
            (b"../a", b"a"),
            (b"a/", b"a"),
            (b"a//b", b"a/b"),
            (b"a/./b/.", b"a/b"),
            (b"a/b/../c", b"a/c"),
            (b"a/b/../../../c", b"c"),
            (b"a/..b/c", b"a/..b/c"),
            (b"a/b..", b"a/b.."),
            (b"\xff/x", b"\xff/x"),
            (b"///", b""),
            (b"a/b/../..", b""),
            (b"a/../../b/c", b"b/c"),
            (b"abc/def/../ghi/./", b"abc/ghi"),
            (b"...", b"..."),
            (b"a/.../b", b"a/.../b"),
            (b".a/..b", b".a/..b"),
        ];
        for (input, want) in cases {
            assert_eq!(
                &*clean(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn borrows_when_clean() {
        assert!(matches!(clean(b"a/b"), Cow::Borrowed(_)));
        assert!(matches!(clean(b""), Cow::Borrowed(_)));
        assert!(matches!(clean(b"./a/b/"), Cow::Borrowed(b"a/b")));
        assert!(matches!(clean(b"/.//a/"), Cow::Borrowed(b"a")));
        assert!(matches!(clean(b"a//b"), Cow::Owned(_)));
        assert!(matches!(clean(b"./a/../b"), Cow::Owned(_)));
    }

    #[test]
    fn parent_and_base() {
        assert_eq!(parent(b"a/b/c"), b"a/b");
        assert_eq!(base(b"a/b/c"), b"c");
        assert_eq!(parent(b"a"), b"");
        assert_eq!(base(b"a"), b"a");
        assert_eq!(parent(b""), b"");
    }

    proptest! {
        #[test]
        fn clean_is_idempotent_and_safe(name in proptest::collection::vec(
            prop_oneof![Just(b'/'), Just(b'.'), Just(b'a'), Just(0xff)], 0..24)) {
            let once = clean(&name).into_owned();
            prop_assert_eq!(clean(&once).into_owned(), once.clone());
            for prefix in [&b""[..], b"./", b"/", b"../"] {
                let prefixed = [prefix, name.as_slice()].concat();
                prop_assert_eq!(clean(&prefixed).into_owned(), once.clone());
            }
            prop_assert!(!once.starts_with(b"/"));
            prop_assert!(!once.ends_with(b"/"));
            prop_assert!(once.split(|&b| b == b'/').all(|c| c != b".." && c != b"." ));
            // The borrowing fast path agrees with the general algorithm.
            prop_assert_eq!(once, clean_components(&name));
        }
    }
}
