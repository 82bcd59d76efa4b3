//! Integration tests of fabrik-sql (one binary).
