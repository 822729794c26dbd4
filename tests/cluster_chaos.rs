//! Chaos: three real nodes, clients writing documents through random nodes,
//! a nemesis that kills (`kill -9`) or freezes (`SIGSTOP`) nodes every 5–10 s
//! on a schedule drawn from a logged seed. At the end every acknowledged
//! write is present exactly once on every node, nothing appears that nobody
//! wrote, the replicas agree on a content digest at one applied index, and
//! the history of a few registers (document titles, written and read with
//! linearizable reads through random nodes) passes stateright's
//! linearizability checker.
//!
//! A plain `main` (harness = false) so that it takes its own flags:
//!
//! ```text
//! cargo test --release --test cluster_chaos -- --duration 30m --seed 42
//! ```
//!
//! CI runs the default: 75 s, at least 2,000 acknowledged documents.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::writes::{Attempt, all_titles, write_document};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use tokio::sync::Mutex;

const SITE: &str = "chaos";
const WRITERS: usize = 6;
const REGISTERS: usize = 2;
const REGISTER_CLIENTS: usize = 3;
const MIN_ACKED: usize = 2000;

struct Options {
    duration: Duration,
    seed: u64,
}

fn parse_duration(s: &str) -> Duration {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("bad duration {s}: use 90s, 30m, 1h"));
    Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => panic!("bad duration unit in {s}: use s, m or h"),
    })
}

fn options() -> Options {
    let mut o = Options { duration: Duration::from_secs(75), seed: rand::random() };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--duration" => {
                o.duration = parse_duration(&args[i + 1]);
                i += 1;
            }
            "--seed" => {
                o.seed = args[i + 1].parse().expect("--seed takes an integer");
                i += 1;
            }
            // cargo passes libtest flags and filters; none apply here.
            _ => {}
        }
        i += 1;
    }
    if let Ok(s) = std::env::var("ZHANQUN_CHAOS_SEED") {
        o.seed = s.parse().expect("ZHANQUN_CHAOS_SEED takes an integer");
    }
    o
}

fn main() {
    let o = options();
    eprintln!("chaos: seed {} (replay with --seed {}), duration {:?}", o.seed, o.seed, o.duration);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(run(o));
}

#[derive(Default)]
struct Ledger {
    acked: BTreeSet<String>,
    attempted: BTreeSet<String>,
    unknown: usize,
}

/// One operation on a register, as the client saw it.
struct Event {
    client: usize,
    invoked: Instant,
    /// `None`: a write whose outcome is unknown (it may have happened).
    returned: Option<(Instant, RegisterRet<String>)>,
    op: RegisterOp<String>,
}

/// One register (a document's title) and what its clients did to it.
/// Operations known not to have happened (a refused write, a failed read)
/// are left out: they constrain nothing. A write with an unknown outcome
/// stays in flight forever, so the checker may place it anywhere after its
/// start, or nowhere.
struct RegisterHistory {
    id: i64,
    initial: String,
    events: Vec<Event>,
}

impl RegisterHistory {
    /// Replays the events in real-time order into stateright's tester. A
    /// client whose write is left in flight continues under a fresh thread
    /// id, as the tester allows one operation in flight per thread.
    fn check(&self) -> (bool, usize) {
        // A write with an unknown outcome whose value no read ever returned
        // can always be linearized just before the next write (or at the
        // end), so leaving it out changes no verdict; it also spares the
        // checker from trying it at every point of the history.
        let observed: BTreeSet<&String> = self
            .events
            .iter()
            .filter_map(|e| match &e.returned {
                Some((_, RegisterRet::ReadOk(v))) => Some(v),
                _ => None,
            })
            .collect();
        let keep = |e: &Event| match (&e.op, &e.returned) {
            (RegisterOp::Write(v), None) => observed.contains(v),
            _ => true,
        };
        let mut marks: Vec<(Instant, bool, usize)> = Vec::new();
        for (i, e) in self.events.iter().enumerate().filter(|(_, e)| keep(e)) {
            marks.push((e.invoked, false, i));
            if let Some((at, _)) = &e.returned {
                marks.push((*at, true, i));
            }
        }
        marks.sort_by_key(|(at, is_return, _)| (*at, *is_return));
        let mut thread_of = vec![0u64; self.events.len()];
        let mut generation = [0u64; REGISTER_CLIENTS];
        let mut tester = LinearizabilityTester::new(Register(self.initial.clone()));
        for (_, is_return, i) in marks {
            let e = &self.events[i];
            if is_return {
                let (_, ret) = e.returned.clone().expect("return marks have a result");
                tester.on_return(thread_of[i], ret).unwrap();
            } else {
                thread_of[i] = e.client as u64 * 1_000_000 + generation[e.client];
                if e.returned.is_none() {
                    generation[e.client] += 1;
                }
                tester.on_invoke(thread_of[i], e.op.clone()).unwrap();
            }
        }
        (tester.is_consistent(), self.events.iter().filter(|e| e.returned.is_some()).count())
    }
}

async fn run(o: Options) {
    let mut cluster = Cluster::start(3, false, &[]).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, SITE).await;
    let bases: Vec<String> = (1..=3).map(|id| cluster.base(id)).collect();

    // The registers: one document each, initial title known.
    let mut registers = Vec::new();
    for r in 0..REGISTERS {
        let resp = common::client()
            .post(format!("{}/api/v1/tenants/{SITE}/documents", bases[0]))
            .bearer_auth(&token)
            .json(&json!({ "channel": "news", "title": format!("reg{r}-init") }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let doc: Value = resp.json().await.unwrap();
        let id = doc["url"].as_str().and_then(|u| u.rsplit('/').next()).and_then(|f| f.trim_end_matches(".html").parse::<i64>().ok());
        let id = doc["id"].as_i64().or(id).expect("created document has an id");
        registers.push(Arc::new(Mutex::new(RegisterHistory { id, initial: format!("reg{r}-init"), events: Vec::new() })));
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (bases, token, ledger, stop) = (bases.clone(), token.clone(), ledger.clone(), stop.clone());
        let mut rng = StdRng::seed_from_u64(o.seed ^ (w as u64 + 1));
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let title = format!("w{w}-{seq}");
                ledger.lock().await.attempted.insert(title.clone());
                match write_document(&bases[rng.random_range(0..bases.len())], &token, SITE, &title).await {
                    Attempt::Acknowledged => {
                        ledger.lock().await.acked.insert(title);
                    }
                    Attempt::Unknown => {
                        ledger.lock().await.unknown += 1;
                    }
                    Attempt::NotApplied => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }));
    }
    for (r, register) in registers.iter().enumerate() {
        for client in 0..REGISTER_CLIENTS {
            let (bases, token, stop, register) = (bases.clone(), token.clone(), stop.clone(), register.clone());
            let mut rng = StdRng::seed_from_u64(o.seed ^ (1000 + (r * 10 + client) as u64));
            tasks.push(tokio::spawn(async move { register_client(r, client, &bases, &token, &register, &stop, &mut rng).await }));
        }
    }

    // The nemesis.
    let mut rng = StdRng::seed_from_u64(o.seed);
    let started = Instant::now();
    let mut faults = 0;
    while started.elapsed() < o.duration || (ledger.lock().await.acked.len() < MIN_ACKED && started.elapsed() < o.duration * 3) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(5000..10000))).await;
        faults += 1;
        let leader = cluster.leader().await.unwrap_or(rng.random_range(1..=3));
        let at = started.elapsed().as_secs_f32();
        match rng.random_range(0..3) {
            0 => {
                let down = Duration::from_millis(rng.random_range(1000..3000));
                eprintln!("chaos: fault {faults} at {at:.1}s: kill -9 the leader (node {leader}), restart after {down:?}");
                cluster.node(leader).kill();
                tokio::time::sleep(down).await;
                cluster.node(leader).spawn();
            }
            1 => {
                let follower = (1..=3).filter(|id| *id != leader).nth(rng.random_range(0..2)).unwrap();
                let down = Duration::from_millis(rng.random_range(1000..3000));
                eprintln!("chaos: fault {faults} at {at:.1}s: kill -9 a follower (node {follower}), restart after {down:?}");
                cluster.node(follower).kill();
                tokio::time::sleep(down).await;
                cluster.node(follower).spawn();
            }
            _ => {
                let pause = Duration::from_millis(rng.random_range(3000..8000));
                eprintln!("chaos: fault {faults} at {at:.1}s: SIGSTOP the leader (node {leader}) for {pause:?}");
                cluster.node(leader).pause();
                tokio::time::sleep(pause).await;
                cluster.node(leader).resume();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    // Settle and check.
    cluster.wait_leader(Duration::from_secs(30)).await;
    let (index, digest) = cluster.wait_converged(Duration::from_secs(60)).await;
    let ledger = ledger.lock().await;
    assert!(ledger.acked.len() >= MIN_ACKED, "only {} documents acknowledged; the run must write at least {MIN_ACKED}", ledger.acked.len());
    for base in &bases {
        let titles = all_titles(base, &token, SITE).await;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &titles {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        for t in &ledger.acked {
            assert_eq!(counts.get(t.as_str()).copied().unwrap_or(0), 1, "acknowledged write {t} must be present exactly once on {base}");
        }
        for t in counts.keys() {
            assert!(ledger.attempted.contains(*t) || t.starts_with("reg"), "{base} holds {t}, which nobody wrote");
        }
    }
    let mut ops = 0;
    for (r, register) in registers.iter().enumerate() {
        let h = register.lock().await;
        let checking = Instant::now();
        let (linearizable, completed) = h.check();
        eprintln!("chaos: register {r}: {} operations checked in {:?}", h.events.len(), checking.elapsed());
        assert!(completed >= 20, "register {r} saw only {completed} completed operations");
        assert!(linearizable, "register {r}: the history of {} operations is not linearizable", h.events.len());
        ops += completed;
    }
    let (grouped, entries) = proposals_per_entry(&bases).await;
    eprintln!(
        "chaos: OK — {faults} faults in {:.0}s; {} documents acknowledged ({} outcomes unknown), all present exactly once on 3 nodes; \
         replicas agree at index {index} (sha256 {}…); {ops} register operations linearizable; \
         group commit: {grouped} writes in {entries} log entries (the leaders since their last start)",
        started.elapsed().as_secs_f32(),
        ledger.acked.len(),
        ledger.unknown,
        &digest[..12]
    );
}

async fn register_client(r: usize, client: usize, bases: &[String], token: &str, register: &Mutex<RegisterHistory>, stop: &AtomicBool, rng: &mut StdRng) {
    let http = common::client();
    let mut n = 0u64;
    let id = register.lock().await.id;
    while !stop.load(Ordering::Relaxed) {
        let base = &bases[rng.random_range(0..bases.len())];
        let url = format!("{base}/api/v1/tenants/{SITE}/documents/{id}");
        let invoked = Instant::now();
        let event = if rng.random_bool(0.5) {
            n += 1;
            let value = format!("reg{r}-c{client}-{n}");
            let resp = http.patch(&url).bearer_auth(token).json(&json!({ "title": value })).timeout(Duration::from_secs(20)).send().await;
            let op = RegisterOp::Write(value);
            let status = match resp {
                Ok(resp) => Some((resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))),
                Err(e) if e.is_connect() => None,
                Err(_) => Some((0, Value::Null)),
            };
            match status {
                Some((200, _)) => Some(Event { client, invoked, returned: Some((Instant::now(), RegisterRet::WriteOk)), op }),
                // Refused before proposing: it did not happen.
                None => None,
                Some((503, body)) if body["error"]["code"] == "unavailable" => None,
                _ => Some(Event { client, invoked, returned: None, op }),
            }
        } else {
            let resp = http.get(&url).bearer_auth(token).header("x-zhanqun-consistency", "linearizable").timeout(Duration::from_secs(20)).send().await;
            match resp {
                Ok(resp) if resp.status() == 200 => {
                    let doc: Value = resp.json().await.unwrap();
                    let title = doc["title"].as_str().unwrap().to_string();
                    Some(Event { client, invoked, returned: Some((Instant::now(), RegisterRet::ReadOk(title))), op: RegisterOp::Read })
                }
                // A read that failed observed nothing.
                _ => None,
            }
        };
        match event {
            Some(e) => {
                let completed = e.returned.is_some();
                register.lock().await.events.push(e);
                if !completed {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        // Keeps the history a size the checker searches in seconds.
        tokio::time::sleep(Duration::from_millis(rng.random_range(10..60))).await;
    }
}

/// Writes proposed and the log entries they took, summed over the nodes'
/// `zhanqun_raft_entry_proposals` (each counts what it proposed as leader
/// since it last started).
async fn proposals_per_entry(bases: &[String]) -> (u64, u64) {
    let (mut grouped, mut entries) = (0.0, 0.0);
    for base in bases {
        let Ok(r) = common::client().get(format!("{base}/metrics")).send().await else { continue };
        let text = r.text().await.unwrap_or_default();
        let value = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
        grouped += value("zhanqun_raft_entry_proposals_sum ");
        entries += value("zhanqun_raft_entry_proposals_count ");
    }
    (grouped as u64, entries as u64)
}
