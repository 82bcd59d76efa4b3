//! Delta Lake tables of the lake.
