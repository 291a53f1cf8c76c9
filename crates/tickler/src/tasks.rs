//! The `task` commands.

use anyhow::Result;
use serde::Serialize;
use tickler_core::task::TaskStatus;
use tickler_engine::{
    Actor, Engine,
    tasks::{TaskItem, TaskQuery},
};

use crate::{cli::TaskCommand, output};

/// A task as `task list --json` prints it: the owner by email, dates as text.
#[derive(Debug, Serialize)]
pub struct TaskView {
    pub id: i64,
    pub contract_id: Option<i64>,
    pub contract: Option<String>,
    pub customer: Option<String>,
    pub title: String,
    pub owner: Option<String>,
    pub due_date: String,
    pub status: &'static str,
    pub escalated_at: Option<String>,
    pub note: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
}

impl From<&TaskItem> for TaskView {
    fn from(item: &TaskItem) -> Self {
        let t = &item.task;
        TaskView {
            id: t.id,
            contract_id: t.contract_id,
            contract: item.contract_title.clone(),
            customer: item.customer_name.clone(),
            title: t.title.clone(),
            owner: item.owner_email.clone(),
            due_date: t.due_date.to_string(),
            status: t.status.as_str(),
            escalated_at: t.escalated_at.map(|at| at.to_string()),
            note: t.note.clone(),
            closed_at: t.closed_at.map(|at| at.to_string()),
            closed_by: t.closed_by.clone(),
        }
    }
}

pub async fn task(engine: &Engine, command: TaskCommand, actor: &Actor) -> Result<()> {
    match command {
        TaskCommand::List {
            owner,
            status,
            json,
        } => {
            let status: Option<TaskStatus> = status.map(|s| s.parse()).transpose()?;
            let list = engine
                .list_tasks(&TaskQuery {
                    owner_email: owner,
                    status,
                    ..TaskQuery::default()
                })
                .await?;
            let views: Vec<TaskView> = list.iter().map(TaskView::from).collect();
            if json {
                output::json(&views)?;
            } else {
                output::tasks(&views);
            }
        }
        TaskCommand::Done { id, note } => {
            let task = engine.complete_task(id, note.as_deref(), actor).await?;
            eprintln!("task {id} done: {}", task.title);
        }
    }
    Ok(())
}
