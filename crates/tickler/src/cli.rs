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
    /// Create or upgrade the database schema (also done by every other command). Migrations
    /// only go forward: back up first (`tickler backup`). A database that a newer Tickler
    /// upgraded is refused.
    Migrate {
        /// List the migrations that would run, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy the SQLite database into FILE while serve runs and sends (one consistent
    /// moment, checked with PRAGMA integrity_check before it says done). On PostgreSQL,
    /// prints the pg_dump command to use instead.
    Backup {
        /// The new backup file; it must not exist.
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Make the SQLite database a copy of the backup FILE, then migrate it; reminders that
    /// were being sent as the backup was taken go back to the queue, and the command says
    /// which fell due since the backup (the old database may have sent them). Stop serve
    /// first.
    Restore {
        file: PathBuf,
        /// Replace a database that holds data (users, customers, contracts or invoices).
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Members of the team: contract owners (salespeople), admins, viewers.
    #[command(subcommand)]
    User(UserCommand),
    /// Customers: who receives the notices.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Contracts and their renewals.
    #[command(subcommand)]
    Contract(Box<ContractCommand>),
    /// Timed emails: list, edit, send now, skip.
    #[command(subcommand)]
    Reminder(ReminderCommand),
    /// Plans: the timed emails a contract gets; list, show, add, copy, rename, archive.
    #[command(subcommand)]
    Plan(crate::plans::PlanCommand),
    /// Invoices of recurring sales: approve drafts, record payments, void, PDF.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Renewal quotes: create, send, accept or decline; acceptance starts the next term.
    #[command(subcommand)]
    Quote(crate::quotes::QuoteCommand),
    /// The organisation's settings: name, bank account, invoice numbers, payment terms.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Tasks for the team (call the customer): list, mark done.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Send what is due: with --once, then exit; without, keep sending as things come due
    /// (a dispatcher without the web app), until SIGTERM or Ctrl-C.
    Dispatch(DispatchArgs),
    /// List every email that will be sent between two days, as it will go out: recipients,
    /// subject line, the instant in UTC and in the customer's time zone, the contract and
    /// invoice it belongs to. Dispatch, running through the window, sends exactly this list
    /// unless someone acts first. Steps that wait for a person (approval, task) are not in
    /// it: the alert their owner gets is. Invoices the billing run will issue are predicted
    /// (no reminder id yet).
    Preview(PreviewArgs),
    /// Run the web app for the team and the dispatcher, until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Bulk imports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Calendar feeds: the secret address a user subscribes their calendar app to.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Bearer tokens for the JSON API (/api/v1), each acting as its user, with their role.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Webhooks: other programs told of events by signed HTTP POSTs (admins' business).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The data as CSV, safe to open in a spreadsheet: `export contracts` writes what
    /// `import contracts` reads.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Print the one-time setup code that the web app's /setup page asks for when other
    /// machines can reach it (until the first admin exists; also in the log of `serve`).
    SetupCode,
    /// The server secret that signs the customer's one-click links.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// The recurring jobs (lease take-over, clean-up): when each last ran, where, and how.
    Jobs {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Replace the link secret: every link in emails sent so far stops working (their pages
    /// say the link is not valid); emails sent from now on carry new links.
    Rotate,
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
        /// Read a password (at least 10 characters, not a common one) from standard input, for
        /// logging in to the web app.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password, read from standard input (at least 10 characters, not a common
    /// one; ends their open sessions).
    Password {
        #[arg(long)]
        email: String,
    },
    /// Invite a member of the team: they get a link (emailed when TICKLER_PUBLIC_URL is set)
    /// to choose their own password; it works once, for 72 hours. Prints the link last.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "sales", value_parser = ["admin", "sales", "viewer"])]
        role: String,
    },
    /// Change a user's name, role, time zone, language or morning digest; what is not given
    /// stays as it is.
    Edit {
        /// The user's id or email address.
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["admin", "sales", "viewer"])]
        role: Option<String>,
        /// An IANA zone such as Asia/Tokyo that pages show times in; "" for the
        /// organisation's.
        #[arg(long)]
        time_zone: Option<String>,
        /// en, ja or el: the language of the dates the web app tells them and of their
        /// morning digest.
        #[arg(long)]
        language: Option<String>,
        /// The morning digest: daily, weekdays (Monday to Friday in their zone) or off.
        #[arg(long, value_parser = ["daily", "weekdays", "off"])]
        digest: Option<String>,
        /// The local time of the morning digest in their zone, e.g. 07:30 (default 08:00).
        #[arg(long)]
        digest_time: Option<String>,
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
        /// The plan (name or id) their new contracts follow unless one is named.
        #[arg(long)]
        plan: Option<String>,
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
        /// The plan (name or id) their new contracts follow unless one is named; "" clears it.
        #[arg(long)]
        plan: Option<String>,
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
        /// Expiry date (last day covered), YYYY-MM-DD; a recurring sale may give --cycles instead;
        /// an evergreen contract has none.
        #[arg(long, required_unless_present_any = ["cycles", "renewal"])]
        end: Option<String>,
        /// The salesperson's email (a user); CC'd on the customer's emails.
        #[arg(long)]
        owner: Option<String>,
        /// Plan name (default: renewal; subscription for a recurring sale).
        #[arg(long)]
        plan: Option<String>,
        /// Decimal amount, e.g. 1200.00 (a recurring sale's default: one invoice's total).
        #[arg(long, requires = "currency")]
        amount: Option<String>,
        /// ISO 4217 code, e.g. EUR; needed with --amount and with --bill-every.
        #[arg(long)]
        currency: Option<String>,
        /// A custom field, NAME=VALUE; repeat for several (available to templates as contract.custom.NAME).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        #[command(flatten)]
        billing: BillingArgs,
        /// What happens at the end of the term: expires (the default: it ends unless renewed),
        /// auto (the next term starts by itself unless the customer cancels by the notice
        /// date) or evergreen (no end date: no expiry emails, invoices go on).
        #[arg(long, value_name = "expires|auto|evergreen")]
        renewal: Option<String>,
        /// With --renewal auto: days before the end date by which the customer must cancel.
        #[arg(long, value_name = "N")]
        notice_days: Option<String>,
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
        /// expires, auto or evergreen (see `contract add --renewal`).
        #[arg(long, value_name = "expires|auto|evergreen")]
        renewal: Option<String>,
        /// With --renewal auto: days before the end date by which the customer must cancel.
        #[arg(long, value_name = "N")]
        notice_days: Option<String>,
    },
    /// The current term's one-click links (renew, decline, quote), as its emails carry them;
    /// needs TICKLER_PUBLIC_URL.
    Links {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Record that the customer does not renew (what the decline link does): the pending
    /// emails before the end date are cancelled and an auto-renewing contract will not renew.
    Decline {
        id: i64,
        /// Why, as the customer said it; kept in the contract's history.
        #[arg(long)]
        reason: Option<String>,
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

/// Makes a contract a recurring sale: invoiced on a schedule from its start date.
#[derive(Debug, Args)]
pub struct BillingArgs {
    /// Invoice every PERIOD from the start date: Nd, Nw, Nm or Ny (1m, 3m, 1y, 2w).
    #[arg(long, value_name = "PERIOD")]
    pub bill_every: Option<String>,
    /// Bill this many periods; the end date is then computed (may replace --end).
    #[arg(long, value_name = "N", requires = "bill_every")]
    pub cycles: Option<String>,
    /// An invoice line; repeat for several. Required with --bill-every.
    #[arg(
        long = "line",
        value_name = "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT",
        requires = "bill_every"
    )]
    pub lines: Vec<String>,
    /// Invoice each period the day after it ends (default: on its first day, in advance).
    #[arg(long, requires = "bill_every")]
    pub in_arrears: bool,
    /// Make each invoice a draft that waits for approval (default: issue and email it).
    #[arg(long, requires = "bill_every")]
    pub draft_invoices: bool,
    /// Days from issue to due (default: the settings' payment days, else 14).
    #[arg(long, value_name = "N", requires = "bill_every")]
    pub payment_days: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Tasks, soonest due first.
    List {
        /// Only the tasks of the user with this email.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, value_parser = ["open", "done", "cancelled"])]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Mark an open task done.
    Done {
        id: i64,
        /// What was done or agreed, kept with the task.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Invoices by period.
    List {
        #[arg(long)]
        contract: Option<i64>,
        #[arg(long, value_parser = ["draft", "issued", "paid", "void"])]
        status: Option<String>,
        /// Only issued invoices past their due date.
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        json: bool,
    },
    /// One invoice with its lines and payments.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Change a draft: its lines (all replaced) and its dates.
    Edit {
        id: i64,
        /// The new lines; repeat for several (replaces every line).
        #[arg(
            long = "line",
            value_name = "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT"
        )]
        lines: Vec<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        issue_date: Option<String>,
        /// YYYY-MM-DD; approval keeps the days from issue to due.
        #[arg(long)]
        due_date: Option<String>,
    },
    /// Issue a draft: numbered, dated today, emailed with its PDF.
    Approve { id: i64 },
    /// Drop a draft: its period is not billed again.
    Discard {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record a payment (on a draft: a prepayment).
    Pay {
        id: i64,
        /// Decimal amount in the invoice's currency, e.g. 124.00.
        #[arg(long)]
        amount: String,
        /// Day of payment, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// The bank's or customer's reference.
        #[arg(long)]
        reference: Option<String>,
    },
    /// Cancel an issued invoice; it keeps its number and its reminders stop.
    Void {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Write the invoice's PDF.
    Pdf {
        id: i64,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// The organisation's settings in effect.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Change some settings; an empty value returns to the default.
    Set {
        #[arg(long)]
        organisation: Option<String>,
        /// The account customers pay into, shown in invoices and notices.
        #[arg(long)]
        iban: Option<String>,
        #[arg(long)]
        bank_name: Option<String>,
        /// What invoice numbers start with (default INV-): INV-2027-0001.
        #[arg(long)]
        invoice_prefix: Option<String>,
        /// Days from issue to due for sales that do not say (default 14).
        #[arg(long)]
        payment_days: Option<String>,
        /// The colour of the header and buttons of HTML emails, #RRGGBB (default #1f4e79).
        #[arg(long)]
        brand_color: Option<String>,
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
    Send {
        id: i64,
        /// The version read (`reminder show` prints it): if the email has changed since,
        /// it is not sent and the command says what changed.
        #[arg(long)]
        version: Option<String>,
    },
    /// Decide not to send a scheduled email.
    Skip {
        id: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Undo a skip: the email goes back to the queue at its own time (until that time).
    Unskip { id: i64 },
    /// Send now, late, an email missed because its contract was entered after its time
    /// (the contract's page offers the same).
    SendMissed { id: i64 },
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
pub struct PreviewArgs {
    /// The first day, YYYY-MM-DD, in the organisation's time zone (or an RFC 3339 instant).
    #[arg(long)]
    pub from: String,
    /// The last day, included (or an RFC 3339 instant, included).
    #[arg(long)]
    pub to: String,
    /// Only the contracts this user (an email) owns.
    #[arg(long)]
    pub owner: Option<String>,
    /// A JSON array, one object per email: reminder_id (null for an email the dispatcher
    /// will create on the way), kind (reminder, invoice, digest), send_at, send_at_local,
    /// time_zone, to, cc, subject, contract_id, invoice_id, predicted...
    #[arg(long)]
    pub json: bool,
    /// Preview as of this RFC 3339 instant instead of the wall clock (as `dispatch --now`).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the web app (and of /healthz, /readyz and /metrics). Beyond loopback (or
    /// with a TICKLER_PUBLIC_URL on another host), the first admin's /setup page asks for the
    /// setup code this command logs (`tickler setup-code` prints it too).
    #[arg(long, env = "TICKLER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Print the address of a user's calendar feed (the same each time, until revoked):
    /// the expiries, cancel-by dates, timed emails and open tasks of the contracts they own
    /// (an admin's: all). Whole with TICKLER_PUBLIC_URL, else the path.
    Url {
        #[arg(long)]
        user: String,
    },
    /// Give a user a new feed address; the old one stops working at once.
    Revoke {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token for a user; the token is printed once, on the last line (only its hash
    /// is kept).
    Create {
        /// The user (an email address) the token acts as.
        #[arg(long)]
        user: String,
        /// What it is for, to tell tokens apart (default "API token").
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tokens (never the tokens themselves): id, user, name, made, last used,
    /// revoked.
    List {
        /// Only this user's (an email address).
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a receiver: prints its id, then its signing secret on the last line (shown
    /// once; it signs every delivery, see the README's "Webhooks").
    Add {
        /// Where events are posted: https:// (or http:// on a trusted network).
        #[arg(long)]
        url: String,
        /// The events it receives, comma-separated (reminder.sent,contract.created), or *
        /// for all; `tickler webhook events` lists them.
        #[arg(long)]
        events: String,
        /// What it is for, to tell receivers apart.
        #[arg(long)]
        description: Option<String>,
    },
    /// The receivers in use: id, URL, events (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop sending to a receiver; what was still to be delivered to it is marked failed.
    Remove { id: i64 },
    /// The events a receiver can subscribe to.
    Events,
    /// The latest deliveries, newest first: status, attempts, the receiver's last answer.
    Deliveries {
        /// Only this receiver's.
        #[arg(long)]
        webhook: Option<i64>,
        /// Only pending, delivered or failed ones.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Post a delivery's event again now (same event id), as a new delivery.
    Redeliver { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Contracts in the columns `import contracts` reads (custom fields as columns of their
    /// own; each contract's current term): an export imports again as the same contracts.
    Contracts {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Only the active or only the terminated contracts (default: all).
        #[arg(long, value_parser = ["active", "terminated"])]
        status: Option<String>,
    },
    /// Customers: id, name, addresses (one per line of the cell), language, time zone and
    /// the plan of their new contracts.
    Customers {
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Invoices, drafts and void ones too: number, status, customer, contract, dates and
    /// amounts.
    Invoices {
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// The whole installation, to move it to another database (SQLite to PostgreSQL or back)
    /// with `import all`: every table as TABLE.csv (every column as stored, NULL written \N)
    /// and a manifest.json with the schema version, row counts and checksums. Consistent
    /// while the service runs. A machine format, not for spreadsheets.
    All {
        /// The folder to write into: created when missing, refused when not empty.
        #[arg(long)]
        output: PathBuf,
        /// Also print the manifest on standard output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Contracts from a CSV with the header
    /// customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,currency
    /// (extra columns become custom fields). All or nothing.
    Contracts { file: PathBuf },
    /// A whole installation written by `export all` (from SQLite or PostgreSQL), into this
    /// database, which must be new: migrated to the same schema version and holding no data
    /// (its default plans and settings are replaced). Every file is checked against the
    /// manifest and every cell against its column first; then all rows are written in one
    /// transaction: all or nothing.
    All {
        /// The folder `export all --output` wrote.
        dir: PathBuf,
        /// Also print the manifest on standard output.
        #[arg(long)]
        json: bool,
    },
}
