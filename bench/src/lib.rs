//! Micro-benchmarks and side-by-side comparisons with peer servers. The
//! benchmarks arrive with the parts they measure (SFU, ledger, search).
