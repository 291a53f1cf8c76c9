//! The command line: what each command takes, and its `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tickler makes sure no contract renewal, expiry notice or invoice is forgotten: each notice
/// is a timed email, drafted when the contract is entered, open to review, and sent at its
/// time unless someone acts first.
#[derive(Debug, Parser)]
#[command(name = "tickler", version, about, long_about = None)]
pub struct Cli {
    /// Database: sqlite://FILE (created on first use) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "TICKLER_DATABASE_URL",
        default_value = "sqlite://tickler.db",
        hide_env_values = true
    )]
    pub database: String,

    /// A TOML file with the same settings as the TICKLER_* variables (lower-case, no prefix);
    /// default: ./tickler.toml if it exists. The environment and flags take precedence.
    #[arg(long, global = true, env = "TICKLER_CONFIG")]
    pub config: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the database schema (also done by every other command).
    Migrate,
    /// Members of the team: contract owners (salespeople), admins, viewers.
    #[command(subcommand)]
    User(UserCommand),
    /// Customers: who receives the notices.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Contracts and their renewals.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Timed emails: list, edit, send now, skip.
    #[command(subcommand)]
    Reminder(ReminderCommand),
    /// Send what is due: with --once, then exit; without, keep sending as things come due
    /// (a dispatcher without the web app), until SIGTERM or Ctrl-C.
    Dispatch(DispatchArgs),
    /// Run the web app for the team and the dispatcher, until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Bulk imports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The recurring jobs (lease take-over, clean-up): when each last ran, where, and how.
    Jobs {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; prints the new id.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "sales", value_parser = ["admin", "sales", "viewer"])]
        role: String,
        /// Read a password (at least 10 characters) from standard input, for logging in to the web app.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password, read from standard input (ends their open sessions).
    Password {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Add a customer; prints the new id.
    Add {
        #[arg(long)]
        name: String,
        /// An address; repeat for several (the first is the main one).
        #[arg(long = "email", required = true)]
        emails: Vec<String>,
        /// en, ja or el.
        #[arg(long, default_value = "en")]
        language: String,
        /// IANA name, e.g. Europe/Athens; default: the organisation's (TICKLER_TIME_ZONE).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Change a customer; the timed emails of their active contracts follow (addresses, time zone).
    Edit {
        id: i64,
        #[arg(long)]
        name: Option<String>,
        /// Replaces all addresses; repeat for several.
        #[arg(long = "email")]
        emails: Vec<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Show a customer.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Enter a contract and schedule its timed emails; prints the new id.
    Add {
        #[arg(long)]
        customer: i64,
        #[arg(long)]
        title: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        start: String,
        /// Expiry date (last day covered), YYYY-MM-DD.
        #[arg(long)]
        end: String,
        /// The salesperson's email (a user); CC'd on the customer's emails.
        #[arg(long)]
        owner: Option<String>,
        /// Plan name (default: renewal).
        #[arg(long)]
        plan: Option<String>,
        /// Decimal amount, e.g. 1200.00.
        #[arg(long, requires = "currency")]
        amount: Option<String>,
        /// ISO 4217 code, e.g. EUR.
        #[arg(long, requires = "amount")]
        currency: Option<String>,
        /// A custom field, NAME=VALUE; repeat for several (available to templates as contract.custom.NAME).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
    /// Start the next term: cancels the ending term's pending emails and schedules the new ones.
    Renew {
        id: i64,
        /// End of the new term; default: as long as the current term.
        #[arg(long)]
        end: Option<String>,
    },
    /// Change a contract; its unedited timed emails follow (a person's edits are kept).
    Edit {
        id: i64,
        #[arg(long)]
        title: Option<String>,
        /// First day of the current term, YYYY-MM-DD.
        #[arg(long)]
        start: Option<String>,
        /// Expiry date of the current term, YYYY-MM-DD.
        #[arg(long)]
        end: Option<String>,
        /// The salesperson's email; an empty value removes the owner.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// Decimal amount; an empty --amount and --currency remove it.
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        currency: Option<String>,
    },
    /// End a contract early; its pending emails are cancelled.
    Terminate {
        id: i64,
        #[arg(long, default_value = "terminated")]
        reason: String,
    },
    /// A contract with its reminders and history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// All contracts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReminderCommand {
    /// Timed emails in send order.
    List {
        #[arg(long)]
        contract: Option<i64>,
        /// scheduled, sending, sent, failed, skipped, cancelled or superseded.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One timed email with its full text.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Change a scheduled email's wording or send time.
    Edit {
        id: i64,
        #[arg(long)]
        subject: Option<String>,
        /// A file holding the new body (UTF-8); `-` reads standard input.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// RFC 3339, e.g. 2027-01-30T09:00:00+09:00.
        #[arg(long)]
        send_at: Option<String>,
    },
    /// Send a scheduled email now.
    Send { id: i64 },
    /// Decide not to send a scheduled email.
    Skip {
        id: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// Send what is due now, then exit.
    #[arg(long)]
    pub once: bool,
    /// Act as of this RFC 3339 instant instead of the wall clock: with --once the clock
    /// stays there; without, it starts there and runs on.
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the web app (and of /healthz, /readyz and /metrics).
    #[arg(long, env = "TICKLER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Contracts from a CSV with the header
    /// customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency
    /// (extra columns become custom fields). All or nothing.
    Contracts { file: PathBuf },
}
