//! Placeholder: the ingest example tests land here.
