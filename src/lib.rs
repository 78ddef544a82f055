//! sonority facade
