//! session (to be written)
