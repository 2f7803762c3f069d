//! Helpers shared by the interop tests: building the reference Go program, generating the
//! corpus of tricky tars, and running both implementations over it.
