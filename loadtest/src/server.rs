//! The server's own cost, read from its Prometheus endpoint and, for a
//! process on this machine, from `/proc`: CPU time, resident memory and the
//! packets it forwarded.

use std::time::Instant;

use crate::target::ServerProbe;

/// The server at one moment. A figure the server does not expose is `None`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    /// Process CPU time (user + system), seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// `sfu_forwarded_packets_total`: RTP packets written to subscribers.
    pub forwarded: Option<f64>,
    /// `sfu_worker_cpu_seconds_total`: the media workers' threads only.
    pub worker_cpu_seconds: Option<f64>,
}

/// Samples the server: `/proc/<pid>` when the pid is known (exact for this
/// process whatever it exports), else the process collector's
/// `process_cpu_seconds_total` and `process_resident_memory_bytes`.
pub async fn sample(probe: &ServerProbe, http: &reqwest::Client) -> Sample {
    let metrics = match &probe.metrics_url {
        Some(url) => fetch(http, url).await.unwrap_or_default(),
        None => String::new(),
    };
    let from_proc = probe.pid.map(proc_usage);
    Sample {
        at: Instant::now(),
        cpu_seconds: from_proc
            .and_then(|(cpu, _)| cpu)
            .or_else(|| metric(&metrics, "process_cpu_seconds_total")),
        rss_bytes: from_proc
            .and_then(|(_, rss)| rss)
            .or_else(|| metric(&metrics, "process_resident_memory_bytes").map(|b| b as u64)),
        forwarded: metric(&metrics, "sfu_forwarded_packets_total"),
        worker_cpu_seconds: metric(&metrics, "sfu_worker_cpu_seconds_total"),
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Option<String> {
    http.get(url).send().await.ok()?.text().await.ok()
}

/// The sum of every series of `name` in Prometheus text format.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // `name{labels} value` or `name value`, not `name_suffix ...`.
        let value = match rest.chars().next() {
            Some('{') => rest.rsplit_once('}').map(|(_, v)| v),
            Some(' ') => Some(rest),
            _ => None,
        };
        if let Some(v) = value.and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// CPU seconds and resident bytes of process `pid`.
fn proc_usage(pid: u32) -> (Option<f64>, Option<u64>) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok();
    (
        stat.as_deref().and_then(cpu_of_stat),
        status.as_deref().and_then(rss_of_status),
    )
}

/// utime + stime (fields 14 and 15, after the parenthesised command name,
/// which may hold spaces) in clock ticks of `sysconf(_SC_CLK_TCK)`.
fn cpu_of_stat(stat: &str) -> Option<f64> {
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (ticks > 0).then(|| (utime + stime) / ticks as f64)
}

fn rss_of_status(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_summed_and_prefixes_do_not_match() {
        let text = "# HELP x\nsfu_worker_cpu_seconds_total{worker=\"0\"} 1.5\n\
                    sfu_worker_cpu_seconds_total{worker=\"1\"} 2\n\
                    sfu_forwarded_packets_total 10\nsfu_forwarded_packets_total_other 99\n";
        assert_eq!(metric(text, "sfu_worker_cpu_seconds_total"), Some(3.5));
        assert_eq!(metric(text, "sfu_forwarded_packets_total"), Some(10.0));
        assert_eq!(metric(text, "process_cpu_seconds_total"), None);
    }

    #[test]
    fn this_process_reads_from_proc() {
        let (cpu, rss) = proc_usage(std::process::id());
        assert!(cpu.is_some_and(|c| c >= 0.0));
        assert!(rss.is_some_and(|r| r > 0));
        assert_eq!(
            cpu_of_stat("1 (a b) S 0 0 0 0 0 0 0 0 0 0 300 100 0 0"),
            Some(400.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64)
        );
    }
}
