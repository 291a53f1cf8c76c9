//! The `plan` commands: the plans on offer, as the Plans page keeps them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use tickler_core::plan::Step;
use tickler_engine::{
    Actor, Engine,
    plan_catalogue::{NewPlan, PlanListing},
};

use crate::output;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Every plan: id, name, steps, whether archived.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One plan with its steps (by id or name); `--json` prints what `plan add --steps` reads.
    Show {
        plan: String,
        #[arg(long)]
        json: bool,
    },
    /// Make a plan; prints its id.
    Add {
        #[arg(long)]
        name: String,
        /// The steps, as JSON: an array of steps, or a plan as `plan show --json` prints it
        /// (its "steps" are taken). `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        steps: PathBuf,
        #[arg(long, default_value = "")]
        description: String,
        /// What the plan's emails call the contract, e.g. "subscription" (default: contract).
        #[arg(long, default_value = "")]
        noun: String,
    },
    /// Make a plan with another plan's steps; prints its id.
    Copy {
        /// The plan to copy, by id or name.
        plan: String,
        #[arg(long)]
        name: String,
    },
    /// Change a plan's name, description or noun.
    Edit {
        plan: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        noun: Option<String>,
    },
    /// Offer a plan to no new contract; the contracts that follow it go on as before.
    Archive { plan: String },
    /// Offer an archived plan again.
    Restore { plan: String },
}

/// The steps in `path`: a JSON array of steps, or an object with a "steps" array.
fn read_steps(path: &Path) -> Result<Vec<Step>> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("reading the steps from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("--steps {}", path.display()))?
    };
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum StepsFile {
        Steps(Vec<Step>),
        Plan { steps: Vec<Step> },
    }
    let parsed: StepsFile = serde_json::from_str(&text).map_err(|e| {
        // serde's untagged error names no position; parse as a bare array for one that does.
        let detail = match serde_json::from_str::<Vec<Step>>(&text) {
            Err(precise) if !text.trim_start().starts_with('{') => precise.to_string(),
            _ => match serde_json::from_str::<serde_json::Value>(&text) {
                Err(syntax) => syntax.to_string(),
                Ok(_) => e.to_string(),
            },
        };
        anyhow!(
            "--steps {}: {detail} (expected a JSON array of steps, or a plan as `tickler plan \
             show NAME --json` prints it)",
            path.display()
        )
    })?;
    Ok(match parsed {
        StepsFile::Steps(steps) | StepsFile::Plan { steps } => steps,
    })
}

pub async fn plan(engine: &Engine, command: PlanCommand, actor: &Actor) -> Result<()> {
    match command {
        PlanCommand::List { json } => {
            let plans = engine.plan_catalogue().await?;
            if json {
                output::json(&plans)?;
            } else {
                for p in &plans {
                    println!(
                        "{:>4}  {:<24} {:>2} steps{}{}",
                        p.id,
                        p.name,
                        p.steps,
                        if p.archived { "  (archived)" } else { "" },
                        if p.description.is_empty() {
                            String::new()
                        } else {
                            format!("  {}", p.description)
                        }
                    );
                }
            }
        }
        PlanCommand::Show { plan, json } => {
            let listing = engine.plan_listing(&plan).await?;
            if json {
                output::json(&listing)?;
            } else {
                print_plan(&listing);
            }
        }
        PlanCommand::Add {
            name,
            steps,
            description,
            noun,
        } => {
            let steps = read_steps(&steps)?;
            let id = engine
                .create_plan(
                    NewPlan {
                        name,
                        description,
                        noun,
                        steps,
                    },
                    actor,
                )
                .await?;
            println!("{id}");
        }
        PlanCommand::Copy { plan, name } => {
            let from = engine.plan_listing(&plan).await?.summary.id;
            println!("{}", engine.copy_plan(from, &name, actor).await?);
        }
        PlanCommand::Edit {
            plan,
            name,
            description,
            noun,
        } => {
            let current = engine.plan_listing(&plan).await?.summary;
            engine
                .describe_plan(
                    current.id,
                    name.as_deref().unwrap_or(&current.name),
                    description.as_deref().unwrap_or(&current.description),
                    noun.as_deref().unwrap_or(&current.noun),
                    actor,
                )
                .await?;
        }
        PlanCommand::Archive { plan } => {
            let id = engine.plan_listing(&plan).await?.summary.id;
            engine.archive_plan(id, true, actor).await?;
            eprintln!("plan {id} archived: no new contract can choose it");
        }
        PlanCommand::Restore { plan } => {
            let id = engine.plan_listing(&plan).await?.summary.id;
            engine.archive_plan(id, false, actor).await?;
            eprintln!("plan {id} is on offer again");
        }
    }
    Ok(())
}

fn print_plan(listing: &PlanListing) {
    let p = &listing.summary;
    println!(
        "plan {}: {}{}{}",
        p.id,
        p.name,
        if listing.built_in {
            " (ships with Tickler)"
        } else {
            ""
        },
        if p.archived { " (archived)" } else { "" }
    );
    if !p.description.is_empty() {
        println!("  {}", p.description);
    }
    if !p.noun.is_empty() {
        println!("  emails call the contract: {}", p.noun);
    }
    for (i, s) in listing.steps.iter().enumerate() {
        println!(
            "  {}. {:<16} {:<28} {:+} {} from {} at {}, {} (template {})",
            i + 1,
            s.key,
            s.label,
            s.offset.days,
            s.offset.unit.as_str().replace('_', " "),
            s.anchor.as_str().replace('_', " "),
            s.send_time.strftime("%H:%M"),
            s.mode.as_str(),
            s.template
        );
    }
}
