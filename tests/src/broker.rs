//! [`Broker`]: a private Mosquitto for tests and benchmarks.

/// A private Mosquitto on a free port, with its own configuration (big in-flight
/// window), stopped when dropped. Never the machine's shared broker.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    /// Linli's URL with its credentials, for a broker that admits only accounts.
    admin_url: Option<String>,
    /// For a broker that speaks TLS only: the authority its certificate comes from.
    ca_file: Option<std::path::PathBuf>,
}

fn mosquitto_program() -> &'static str {
    if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

/// Started as root, Mosquitto runs as the `mosquitto` user: it must be able to read
/// its key and write its persistence in `dir` (as `linli mqtt broker-config` does).
fn hand_to_broker_user(dir: &std::path::Path) {
    use std::os::unix::fs::MetadataExt as _;
    let as_root = std::fs::metadata(dir).unwrap().uid() == 0;
    let broker_user = std::process::Command::new("id")
        .args(["-u", "mosquitto"])
        .output()
        .is_ok_and(|out| out.status.success());
    if as_root && broker_user {
        let handed = std::process::Command::new("chown")
            .args(["-R", "mosquitto:"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(handed.success(), "chown {}", dir.display());
    }
}

impl Broker {
    /// A broker set up by `linli mqtt broker-config` (the `linli` binary given): only
    /// Linli and the devices and gateways registered with `--mqtt-url` may connect.
    pub fn start_with_accounts(linli: &std::path::Path) -> Broker {
        let port = crate::free_port().unwrap();
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
            ca_file: None,
        };
        broker.run();
        broker
    }

    /// Anyone may connect; the broker keeps nothing across a restart.
    pub fn start() -> Broker {
        Broker::configured(|_| "persistence false\n".into(), None)
    }

    /// Like [`Broker::start`], but sessions and their queued messages outlive a
    /// graceful restart ([`Broker::restart_gracefully`]), as a production broker's do.
    pub fn start_persistent() -> Broker {
        Broker::configured(
            |dir| {
                format!(
                    "persistence true\npersistence_location {}/\n",
                    dir.display()
                )
            },
            None,
        )
    }

    /// A broker that speaks only TLS, with a certificate for 127.0.0.1 from an
    /// authority made for it ([`Broker::ca_file`]); anyone may connect.
    pub fn start_tls() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs (scripts/setup-tools.sh test installs it)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"],
                &key[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=Linli test authority",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key"],
                &key[..],
                &[
                    "-keyout",
                    "broker.key",
                    "-out",
                    "broker.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-addext",
                    "basicConstraints=critical,CA:FALSE",
                ],
            ]
            .concat(),
        );
        let ca_file = dir.path().join("ca.pem");
        Broker::configured_in(
            dir,
            |dir| {
                format!(
                    "persistence false\ncertfile {0}/broker.pem\nkeyfile {0}/broker.key\n",
                    dir.display()
                )
            },
            Some(ca_file),
        )
    }

    fn configured(
        settings: impl FnOnce(&std::path::Path) -> String,
        ca_file: Option<std::path::PathBuf>,
    ) -> Broker {
        Broker::configured_in(tempfile::tempdir().unwrap(), settings, ca_file)
    }

    fn configured_in(
        dir: tempfile::TempDir,
        settings: impl FnOnce(&std::path::Path) -> String,
        ca_file: Option<std::path::PathBuf>,
    ) -> Broker {
        let port = crate::free_port().unwrap();
        std::fs::write(
            dir.path().join("mosquitto.conf"),
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\n\
                 max_inflight_messages 1000\nmax_queued_messages 1000000\n{}",
                settings(dir.path())
            ),
        )
        .unwrap();
        hand_to_broker_user(dir.path());
        let mut broker = Broker {
            port,
            dir,
            child: None,
            admin_url: None,
            ca_file,
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
        let scheme = if self.ca_file.is_some() {
            "mqtts"
        } else {
            "mqtt"
        };
        self.admin_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://127.0.0.1:{}", self.port))
    }

    /// The authority of a TLS broker's certificate (PEM), for `--mqtt-ca`.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref()
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

    /// Stops the broker as a service manager would (SIGTERM: it saves its sessions
    /// when persistent), and waits until it has exited.
    pub fn stop_gracefully(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts a stopped broker again on the same port.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the broker is running");
        self.run();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
