//! Reading input files as validated batches and rejects.
