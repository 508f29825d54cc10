//! The `linli` command line: `serve` and `user add`, with every `serve` flag also
//! readable from the environment (see CONTRACT.md). Values are parsed into typed
//! settings here, so a bad address or URL is refused with a clear message before
//! anything starts.

use crate::auth::password;
use crate::clock::now_ms;
use crate::startup::{Application, Settings};
use crate::store::{self, Actor, Change, DatabaseUrl, NewUser};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use linli_domain::{CommunityId, Role, Username};
use std::io::{BufRead as _, IsTerminal as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "linli",
    version,
    about = "Linli (邻里): the situational-awareness system of a street office"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the app.
    Serve(ServeArgs),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// Where the data lives: sqlite://PATH (created if missing).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/linli.db")]
    database_url: DatabaseUrl,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "LINLI_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Load the demo subdistrict and the demo accounts where missing.
    #[arg(long, env = "LINLI_DEMO")]
    demo: bool,
    /// The built app to serve (trunk's output folder).
    #[arg(long, env = "LINLI_STATIC_DIR", default_value = "dist")]
    static_dir: PathBuf,
    /// Serve the API only, without the app.
    #[arg(long, env = "LINLI_NO_STATIC", conflicts_with = "static_dir")]
    no_static: bool,
    /// Mark the session cookie Secure (set this when Linli is served over HTTPS).
    #[arg(long, env = "LINLI_SECURE_COOKIES")]
    secure_cookies: bool,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is asked for on a terminal, or read from the
    /// first line of standard input otherwise.
    Add {
        name: Username,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A community the grid worker is responsible for (repeat for several).
        #[arg(long = "community")]
        communities: Vec<CommunityId>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| "use commander, grid-worker or viewer".to_string())
}

/// Runs the command line and turns any error into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("linli: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linli: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::User(UserCommand::Add {
            name,
            role,
            communities,
            database,
        }) => add_user(name, role, communities, database.database_url).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings {
        addr: args.addr,
        database_url: args.database.database_url,
        demo: args.demo,
        static_dir: (!args.no_static).then_some(args.static_dir),
        secure_cookies: args.secure_cookies,
        sign_in_policy: Default::default(),
    };
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.local_addr());
    // The first line is what scripts and tests wait for.
    println!("linli: listening on {base}");
    println!("  command screen  {base}/command");
    println!("  field tablet    {base}/field");
    println!("  public page     {base}/public");
    if !app.demo_accounts.is_empty() {
        println!("demo accounts (password `{}`):", crate::demo::DEMO_PASSWORD);
        for (name, role) in &app.demo_accounts {
            println!("  {name:<24} {role}");
        }
    }
    app.run().await.context("the server stopped with an error")
}

async fn add_user(
    username: Username,
    role: Role,
    communities: Vec<CommunityId>,
    database_url: DatabaseUrl,
) -> anyhow::Result<()> {
    match (role, communities.is_empty()) {
        (Role::GridWorker, true) => {
            anyhow::bail!("a grid worker needs at least one --community")
        }
        (Role::Commander | Role::Viewer, false) => {
            anyhow::bail!("only grid workers are bound to communities; drop --community")
        }
        _ => {}
    }
    let password = read_password()?;
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password must have at least 8 characters"
    );
    let store = store::open(&database_url).await?;
    let password_hash = password::hash(&password)?;
    store
        .create_user(
            &Change::new(Actor::System("cli"), now_ms()),
            NewUser {
                username: username.clone(),
                password_hash,
                role,
                communities,
            },
        )
        .await?;
    println!("created {role} `{username}`");
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ")?;
        let second = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
