//! Integration tests of `fabrik-forecast` (one binary).
