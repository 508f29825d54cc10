//! [`Broker`]: a private Mosquitto for tests and benchmarks.

/// A private Mosquitto on a free port, with its own configuration (no persistence, big
/// in-flight window), stopped when dropped. Never the machine's shared broker.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    /// Linli's URL with its credentials, for a broker that admits only accounts.
    admin_url: Option<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mosquitto_program() -> &'static str {
    if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

impl Broker {
    /// A broker set up by `linli mqtt broker-config` (the `linli` binary given): only
    /// Linli and the devices and gateways registered with `--mqtt-url` may connect.
    pub fn start_with_accounts(linli: &std::path::Path) -> Broker {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(linli)
            .args([
                "mqtt",
                "broker-config",
                "--port",
                &port.to_string(),
                "--dir",
            ])
            .arg(dir.path())
            .output()
            .expect("linli runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "broker-config failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let admin_url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("mqtt-url: "))
            .expect("an mqtt-url line")
            .to_string();
        let mut broker = Broker {
            port,
            dir,
            child: None,
            admin_url: Some(admin_url),
        };
        broker.run();
        broker
    }

    pub fn start() -> Broker {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 max_inflight_messages 1000\nmax_queued_messages 1000000\n"
            ),
        )
        .unwrap();
        let mut broker = Broker {
            port,
            dir,
            child: None,
            admin_url: None,
        };
        broker.run();
        broker
    }

    fn run(&mut self) {
        let child = std::process::Command::new(mosquitto_program())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto runs (scripts/setup-tools.sh test installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "mosquitto did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The URL Linli connects with (with its credentials, when the broker has accounts).
    pub fn url(&self) -> String {
        self.admin_url
            .clone()
            .unwrap_or_else(|| format!("mqtt://127.0.0.1:{}", self.port))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker and starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
