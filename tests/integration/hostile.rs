//! Every script in tests/hostile/ runs beside a healthy co-tenant that posts
//! a known number of messages, as a test of its own (`cargo test hostile::`
//! NAME runs one). For each: the host survives, the co-tenant's messages
//! all arrive (and no more), the hostile source's own lines carry no forged
//! host-owned fields, the host's peak memory stays within
//! [`MEMORY_BOUND`] of a run of the co-tenant alone, the hostile source's
//! expected line is in the log, and shutdown completes within its exit
//! grace.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{self, Setup};

const HEALTHY: usize = 200;

/// How much more a hostile script may make the sandlog process's peak
/// resident memory (VmHWM) than a run of the co-tenant alone.
const MEMORY_BOUND: u64 = 256 * 1024 * 1024;
const GRACE: Duration = Duration::from_secs(1);
/// Time for the host to notice, stop and flush after the grace.
const MARGIN: Duration = Duration::from_secs(2);

const HEALTHY_SOURCE: &str = r#"
import time
from syslogng import LogSource, LogMessage
class Healthy(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        for i in range(200):
            msg = LogMessage(f"healthy {i}")
            msg["seq"] = i
            self.post_message(msg)
            time.sleep(0.001)
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"#;

fn config(script: &str) -> String {
    format!(
        r#"
[policy.hostile]
memory = "64MiB"
exit_grace = "1s"
max_message_size = "64KiB"
max_state_size = "8MiB"

[[source]]
name = "hostile"
script = "{script}"
class = "Hostile"
policy = "hostile"

[[source]]
name = "healthy"
script = "healthy.py"
class = "Healthy"

[[destination]]
type = "file"
path = "out.jsonl"
"#
    )
}

/// The alternatives listed in a script's `EXPECT = [...]` (plain quoted
/// strings without escapes).
fn expectations(source: &str) -> Vec<String> {
    let Some(start) = source.find("\nEXPECT = [") else {
        return Vec::new();
    };
    let rest = &source[start + "\nEXPECT = [".len()..];
    let body = &rest[..rest.find(']').unwrap_or(rest.len())];
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let s: String = chars.by_ref().take_while(|&d| d != c).collect();
            out.push(s);
        }
    }
    out
}

/// A script's `WAIT = N`: how many seconds its expected line may take to
/// show (default 3), for scripts whose attack takes a while.
fn wait_secs(source: &str) -> u64 {
    source
        .lines()
        .find_map(|l| l.strip_prefix("WAIT = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3)
}

/// The peak resident memory of a process, in bytes (VmHWM).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What the hostile source wrote that only the host may write: a SOURCE
/// other than its own, or a name the host owns written twice or at all.
fn forged_fields(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut forged = Vec::new();
    for line in text.lines() {
        if line.matches("\"SOURCE\":").count() != 1 {
            forged.push(format!("SOURCE not exactly once: {line}"));
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            forged.push(format!("not JSON: {line}"));
            continue;
        };
        if v["SOURCE"] != "hostile" && v["SOURCE"] != "healthy" {
            forged.push(format!("SOURCE {}: {line}", v["SOURCE"]));
        }
        for owned in ["PRI", "FACILITY", "SEVERITY", "ISODATE", "HOST_FROM"] {
            if line.matches(&format!("\"{owned}\":")).count() > 1 {
                forged.push(format!("{owned} twice: {line}"));
            }
        }
        if v.get("HOST_FROM").is_some() {
            forged.push(format!("HOST_FROM: {line}"));
        }
    }
    forged
}

/// The peak memory of a run of the co-tenant alone, once per test run.
fn baseline_peak() -> u64 {
    static PEAK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PEAK.get_or_init(|| {
        let setup = Setup::new(&config_alone()).file("healthy.py", HEALTHY_SOURCE);
        let mut cmd = setup.command();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = util::ChildGuard::new(cmd.spawn().expect("sandlog"));
        let out = setup.path("out.jsonl");
        let started = Instant::now();
        while healthy_count(&out) < HEALTHY && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let peak = peak_rss(child.pid()).unwrap_or(0);
        child.signal("TERM");
        let _ = child.wait(Duration::from_secs(30));
        peak
    })
}

fn config_alone() -> String {
    r#"
[[source]]
name = "healthy"
script = "healthy.py"
class = "Healthy"

[[destination]]
type = "file"
path = "out.jsonl"
"#
    .to_owned()
}

fn healthy_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"SOURCE\":\"healthy\""))
                .count()
        })
        .unwrap_or(0)
}

/// Runs one hostile script; returns what went wrong, if anything.
fn run_one(script: &Path) -> Result<(), String> {
    let name = script
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_owned();
    let source = std::fs::read_to_string(script).map_err(|e| e.to_string())?;
    let expect = expectations(&source);
    if expect.is_empty() {
        return Err("no EXPECT list".into());
    }
    let baseline = baseline_peak();
    let setup = Setup::new(&config(&name))
        .file(&name, &source)
        .file("healthy.py", HEALTHY_SOURCE);
    let mut cmd = setup.command();
    cmd.stdout(Stdio::null());
    let mut child = util::ChildGuard::new(cmd.spawn().map_err(|e| e.to_string())?);
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let log = Arc::new(Mutex::new(String::new()));
    let reader = {
        let log = log.clone();
        let mut stderr = stderr;
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut l) = log.lock() {
                    l.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        })
    };
    let out = setup.path("out.jsonl");
    let seen = |log: &Arc<Mutex<String>>| {
        log.lock()
            .map(|l| expect.iter().any(|e| l.contains(e.as_str())))
            .unwrap_or(false)
    };
    let running = |child: &util::ChildGuard| peak_rss(child.pid()).is_some();

    // Let the co-tenant deliver everything and the attack show itself.
    let started = Instant::now();
    while healthy_count(&out) < HEALTHY && started.elapsed() < Duration::from_secs(60) {
        if !running(&child) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let shown = Instant::now();
    let wait = Duration::from_secs(wait_secs(&source));
    while !seen(&log) && shown.elapsed() < wait && running(&child) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let peak = peak_rss(child.pid());

    let signalled = Instant::now();
    child.signal("TERM");
    let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        child.wait(Duration::from_secs(30))
    }))
    .map_err(|_| "sandlog did not stop within 30 s of SIGTERM".to_owned())?;
    let stop_time = signalled.elapsed();
    let _ = reader.join();
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let tail = || {
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };

    if !output.status.success() {
        return Err(format!(
            "sandlog exited with {:?}\n{}",
            output.status,
            tail()
        ));
    }
    let healthy = healthy_count(&out);
    if healthy != HEALTHY {
        return Err(format!(
            "{healthy} healthy messages instead of {HEALTHY}\n{}",
            tail()
        ));
    }
    let forged = forged_fields(&out);
    if !forged.is_empty() {
        return Err(format!("forged fields:\n{}", forged.join("\n")));
    }
    if let Some(peak) = peak
        && peak > baseline + MEMORY_BOUND
    {
        return Err(format!(
            "the host's peak memory was {} MiB, {} MiB above the co-tenant alone (bound {} MiB)",
            peak >> 20,
            (peak - baseline) >> 20,
            MEMORY_BOUND >> 20
        ));
    }
    if !expect.iter().any(|e| log.contains(e.as_str())) {
        return Err(format!("none of {expect:?} in the log\n{}", tail()));
    }
    if stop_time > GRACE + MARGIN {
        return Err(format!("stopping took {stop_time:?}\n{}", tail()));
    }
    Ok(())
}

fn hostile_scripts() -> Vec<String> {
    let dir = util::repo_root().join("tests/hostile");
    let mut scripts: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| n.ends_with(".py"))
                .map(|n| n.trim_end_matches(".py").to_owned())
                .collect()
        })
        .unwrap_or_default();
    scripts.sort();
    scripts
}

fn contained(name: &str) {
    let script = util::repo_root().join(format!("tests/hostile/{name}.py"));
    if let Err(e) = run_one(&script) {
        panic!("{name}: {e}");
    }
}

/// One test per hostile script.
macro_rules! hostile {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                contained(stringify!($name));
            }
        )*

        #[test]
        fn every_script_has_its_test() {
            let listed: Vec<&str> = vec![$(stringify!($name)),*];
            assert_eq!(hostile_scripts(), listed, "tests/hostile/ and the list in hostile.rs differ");
        }
    };
}

hostile!(
    block_asyncio_run_forever,
    block_real_select_from_internals,
    block_real_sleep_restored,
    block_select_no_fds,
    block_selectors_forever,
    block_sleep_loop,
    disk_fill_state_dir,
    env_contents,
    exc_huge_cause_chain,
    exc_in_deinit,
    exc_in_every_method,
    exc_in_init,
    exc_in_request_exit,
    exc_in_run,
    exc_name_with_newlines,
    exc_str_huge,
    exc_str_loops_forever,
    exc_str_raises,
    exit_baseexception_subclass_in_run,
    exit_keyboard_interrupt_in_run,
    exit_os_abort_in_run,
    exit_os_exit_in_init,
    exit_os_exit_in_request_exit,
    exit_os_exit_in_run,
    exit_raise_systemexit_in_run,
    exit_sys_exit_at_import,
    exit_sys_exit_in_run,
    file_listdir_root,
    file_modify_stdlib_in_place,
    file_read_etc_passwd,
    file_read_proc_self_environ,
    file_read_root_ssh,
    file_symlink_create,
    file_traversal_dir_fd,
    file_traversal_python_dotdot,
    file_write_into_python,
    file_write_tmp_and_cwd,
    flood_close_batch_every_message,
    flood_fast_forever,
    flood_near_limit_messages,
    flood_stdout_partial_line,
    flood_stdout_print,
    flood_transport_name_changes,
    flood_values_do_not_leak_guest_memory,
    init_mutates_options_and_self,
    init_returns_bool_not_bool,
    init_returns_bool_that_raises,
    init_returns_empty_string,
    init_returns_none,
    init_returns_truthy_object,
    init_returns_zero,
    loader_class_is_instance,
    loader_metaclass_init_raises,
    loader_missing_request_exit,
    loader_missing_run,
    loader_not_a_logsource,
    loader_swapped_logsource_base,
    loader_syntax_error,
    loop_forever_at_import,
    loop_forever_in_deinit,
    loop_forever_in_init,
    loop_forever_in_request_exit,
    loop_post_after_request_exit,
    loop_pure_spin,
    loop_spin_that_posts,
    loop_swallows_every_exception,
    memory_bigint_shift,
    memory_bomb_in_init,
    memory_huge_bytes_join,
    memory_huge_list_of_dicts,
    memory_huge_string_doubling,
    memory_list_multiplication,
    memory_one_big_allocation,
    memory_slow_growth,
    memory_string_concat_until_oom,
    message_body_1mib,
    message_long_names_over_limit,
    message_many_values_over_limit,
    message_million_keys,
    message_one_value_1mib,
    message_oversize_unbuffered_via_transport,
    message_typed_values_over_limit,
    net_asyncio_open_connection,
    net_dns_getaddrinfo,
    net_dns_localhost,
    net_listen_on_os_chosen_port,
    net_socketpair,
    net_tcp_bind_ipv6_any,
    net_tcp_bind_listen,
    net_tcp_connect_ipv6_loopback,
    net_tcp_connect_localhost_22,
    net_udp_bind_all_interfaces,
    net_udp_connect_ipv6_loopback,
    net_udp_sendto_localhost_53,
    post_bytes_instead_of_message,
    post_dict_instead_of_message,
    post_lookalike_class,
    post_none_instead_of_message,
    post_spoofed_class_attribute,
    post_str_instead_of_message,
    proc_import_ctypes,
    proc_import_native_modules,
    proc_os_fork_exec,
    proc_os_kill_init,
    proc_os_system,
    proc_signal_tamper,
    proc_subprocess_run,
    proc_threading_start,
    recursion_compile_deep_expression,
    recursion_json_dumps_deep,
    recursion_limit_raised_then_deep,
    recursion_limit_raised_then_deep_repr,
    recursion_nested_dict_str,
    recursion_nested_list_repr,
    recursion_pure_python,
    resource_handle_exhaustion,
    tamper_builtins,
    tamper_bypass_setitem_source,
    tamper_clear_runtime_buffers,
    tamper_computed_name_variants,
    tamper_corrupt_runtime_buffers,
    tamper_gc,
    tamper_gc_finalizers_reenter_post,
    tamper_host_block_malformed,
    tamper_host_post_message_claims_source,
    tamper_host_post_messages_claims_source,
    tamper_host_post_oversized,
    tamper_host_transport_name_huge,
    tamper_loader_failure_hook,
    tamper_pending_forged_area,
    tamper_pending_forged_contents,
    tamper_pending_forged_probe,
    tamper_post_message_replaced,
    tamper_raw_call_import,
    tamper_replace_syslogng_logmessage,
    tamper_runtime_disable_exit,
    tamper_runtime_type_check,
    tamper_set_source_key,
    tamper_settrace_raises,
    tamper_stdout_none,
    tls_garbage_feed,
    tls_read_private_key,
    tls_session_exhaustion,
);

#[test]
fn expectations_are_parsed() {
    let src = "x = 1\nEXPECT = [\"run() raised: MemoryError\", 'the guest trapped']\nWAIT = 20\n";
    assert_eq!(
        expectations(src),
        vec!["run() raised: MemoryError", "the guest trapped"]
    );
    assert_eq!(wait_secs(src), 20);
    assert_eq!(wait_secs("x = 1\n"), 3);
}
