use std::{fmt, str::FromStr};

use jiff::civil::Time;
use serde::{Deserialize, Serialize};

use crate::{ValidationError, email::EmailAddress};

/// The date a step counts its offset from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    EndDate,
    StartDate,
    NoticeDate,
    NextInvoiceDate,
    InvoiceDueDate,
}

/// Whether an offset counts every calendar day or only business days (weekends and the
/// organisation's holidays skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetUnit {
    CalendarDays,
    BusinessDays,
}

/// Days from the anchor; negative is before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Offset {
    pub days: i32,
    pub unit: OffsetUnit,
}

impl Offset {
    pub fn calendar(days: i32) -> Self {
        Self {
            days,
            unit: OffsetUnit::CalendarDays,
        }
    }

    pub fn business(days: i32) -> Self {
        Self {
            days,
            unit: OffsetUnit::BusinessDays,
        }
    }
}

/// What happens when a step's time comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A timed email: sent at its time unless someone acts first.
    Auto,
    /// Never sent without approval; the owner is alerted at its time.
    Approval,
    /// A notice to the team only.
    Internal,
    /// A to-do for the owner.
    Task,
}

/// Who a step's message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipients {
    pub customer: bool,
    pub owner: bool,
    pub team: bool,
    pub cc_owner: bool,
}

impl Recipients {
    pub const CUSTOMER_CC_OWNER: Recipients = Recipients {
        customer: true,
        owner: false,
        team: false,
        cc_owner: true,
    };
    pub const OWNER: Recipients = Recipients {
        customer: false,
        owner: true,
        team: false,
        cc_owner: false,
    };
    /// The team: the organisation's admins.
    pub const TEAM: Recipients = Recipients {
        customer: false,
        owner: false,
        team: true,
        cc_owner: false,
    };
}

/// One timed message of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable name of the step within its plan, e.g. `before_60`; also the template's name.
    pub key: String,
    /// A short human label, e.g. "Acknowledgement of renewal".
    pub label: String,
    pub anchor: Anchor,
    pub offset: Offset,
    /// Local time of day in the customer's zone.
    pub send_time: Time,
    pub recipients: Recipients,
    pub mode: Mode,
    pub template: String,
    /// Where the customer's replies to this step's email go, e.g. a team mailbox; `None`: the
    /// contract's owner. Without either, replies go to the From address.
    #[serde(default)]
    pub reply_to: Option<EmailAddress>,
}

/// A named sequence of steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
}

pub const RENEWAL_PLAN: &str = "renewal";

/// The plan a maintenance firm uses: four emails around the expiry date, all timed, to the
/// customer with the salesperson in CC, at 09:00 local time.
/// The renewal plan's task step: the owner calls the customer about the first email.
pub const CALL_CUSTOMER: &str = "call_customer";

pub fn default_renewal_plan() -> Plan {
    let step = |key: &str, label: &str, days: i32| Step {
        key: key.to_string(),
        label: label.to_string(),
        anchor: Anchor::EndDate,
        offset: Offset::calendar(days),
        send_time: Time::constant(9, 0, 0, 0),
        recipients: Recipients::CUSTOMER_CC_OWNER,
        mode: Mode::Auto,
        template: key.to_string(),
        reply_to: None,
    };
    Plan {
        name: RENEWAL_PLAN.to_string(),
        description:
            "Four timed emails around a contract's expiry: 60, 30 and 7 days before, 7 days after; \
             and a task for the owner to call the customer 14 days after the first email."
                .to_string(),
        steps: vec![
            step("before_60", "Renewal notice", -60),
            step("before_30", "Reminder", -30),
            step("before_7", "Final notice", -7),
            step("after_7", "Thank you", 7),
            // The seed's sales manual: follow the first email up by phone two weeks later.
            Step {
                recipients: Recipients::OWNER,
                mode: Mode::Task,
                ..step(CALL_CUSTOMER, "Call the customer", -46)
            },
        ],
    }
}

pub const SUBSCRIPTION_PLAN: &str = "subscription";

/// The plan of a recurring sale (the default when a contract has a billing schedule): the
/// notice before each invoice is issued (the seed's "about to be issued", N days before),
/// then the end of the sale, to the customer and to the owner.
pub fn default_subscription_plan() -> Plan {
    Plan {
        name: SUBSCRIPTION_PLAN.to_string(),
        description: "A recurring sale: a notice 7 days before each invoice is issued (with the \
             IBAN to prepay), the end of the sale 30 days ahead, and a note to the owner on the \
             end date."
            .to_string(),
        steps: vec![
            Step::at_nine(
                "invoice_upcoming",
                "Invoice about to be issued",
                Anchor::NextInvoiceDate,
                -7,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "sale_ending",
                "Your subscription ends soon",
                Anchor::EndDate,
                -30,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "sale_ended",
                "Recurring sale ended (internal)",
                Anchor::EndDate,
                0,
                Recipients::OWNER,
                Mode::Internal,
            ),
        ],
    }
}

pub const AUTO_RENEWAL_PLAN: &str = "auto_renewal";

/// The plan of a contract that renews itself unless cancelled by its notice date (the
/// default with `--renewal auto`): the customer is told 30 days before the notice date that
/// the contract renews unless cancelled by then (some laws, such as France's consumer code
/// L215-1, require that notice), the owner 7 days before the end; a recurring sale's
/// upcoming invoices are announced as in the subscription plan.
pub fn default_auto_renewal_plan() -> Plan {
    Plan {
        name: AUTO_RENEWAL_PLAN.to_string(),
        description: "A contract that renews itself: the customer is told 30 days before the \
             notice date that it renews unless cancelled by then, the owner 7 days before the \
             end; upcoming invoices are announced 7 days ahead."
            .to_string(),
        steps: vec![
            Step::at_nine(
                "auto_renewal_notice",
                "Your contract renews unless cancelled",
                Anchor::NoticeDate,
                -30,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "invoice_upcoming",
                "Invoice about to be issued",
                Anchor::NextInvoiceDate,
                -7,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "auto_renewal_owner",
                "Contract renews in 7 days (internal)",
                Anchor::EndDate,
                -7,
                Recipients::OWNER,
                Mode::Internal,
            ),
        ],
    }
}

pub const DUNNING_PLAN: &str = "dunning";

/// The plan every issued invoice with a balance follows until it is paid or voided.
pub fn default_dunning_plan() -> Plan {
    Plan {
        name: DUNNING_PLAN.to_string(),
        description: "Payment reminders of an issued invoice: 3 days before it is due, 7 and 21 \
             days after, then at 30 days a call for the owner and a notice to the team."
            .to_string(),
        steps: vec![
            Step::at_nine(
                "payment_due_soon",
                "Payment due in 3 days",
                Anchor::InvoiceDueDate,
                -3,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "payment_overdue_7",
                "Payment reminder",
                Anchor::InvoiceDueDate,
                7,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "payment_overdue_21",
                "Second payment reminder",
                Anchor::InvoiceDueDate,
                21,
                Recipients::CUSTOMER_CC_OWNER,
                Mode::Auto,
            ),
            Step::at_nine(
                "payment_overdue_30_task",
                "Call the customer about the unpaid invoice",
                Anchor::InvoiceDueDate,
                30,
                Recipients::OWNER,
                Mode::Task,
            ),
            Step::at_nine(
                "payment_overdue_30_team",
                "Invoice 30 days overdue (internal)",
                Anchor::InvoiceDueDate,
                30,
                Recipients::TEAM,
                Mode::Internal,
            ),
        ],
    }
}

impl Step {
    /// A step at 09:00 whose template has the step's name.
    fn at_nine(
        key: &str,
        label: &str,
        anchor: Anchor,
        days: i32,
        recipients: Recipients,
        mode: Mode,
    ) -> Step {
        Step {
            key: key.to_string(),
            label: label.to_string(),
            anchor,
            offset: Offset::calendar(days),
            send_time: Time::constant(9, 0, 0, 0),
            recipients,
            mode,
            template: key.to_string(),
            reply_to: None,
        }
    }
}

macro_rules! text_enum {
    ($ty:ty, $what:literal, { $($variant:path => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $text),+ }
            }
        }

        impl FromStr for $ty {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($variant),)+
                    other => Err(ValidationError::new(
                        $what,
                        format!(
                            "unknown {} \"{}\" (expected {})",
                            $what,
                            other,
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(Anchor, "anchor", {
    Anchor::EndDate => "end_date",
    Anchor::StartDate => "start_date",
    Anchor::NoticeDate => "notice_date",
    Anchor::NextInvoiceDate => "next_invoice_date",
    Anchor::InvoiceDueDate => "invoice_due_date",
});

text_enum!(OffsetUnit, "offset unit", {
    OffsetUnit::CalendarDays => "calendar_days",
    OffsetUnit::BusinessDays => "business_days",
});

text_enum!(Mode, "mode", {
    Mode::Auto => "auto",
    Mode::Approval => "approval",
    Mode::Internal => "internal",
    Mode::Task => "task",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_plan_has_the_four_renewal_emails() {
        let plan = default_renewal_plan();
        let emails: Vec<&Step> = plan.steps.iter().filter(|s| s.mode == Mode::Auto).collect();
        let offsets: Vec<i32> = emails.iter().map(|s| s.offset.days).collect();
        assert_eq!(offsets, vec![-60, -30, -7, 7]);
        assert!(emails.iter().all(|s| s.anchor == Anchor::EndDate
            && s.send_time == Time::constant(9, 0, 0, 0)
            && s.recipients == Recipients::CUSTOMER_CC_OWNER));
        assert_eq!(plan.steps.len(), 5, "four emails and one task");
    }

    #[test]
    fn the_default_plan_asks_the_owner_to_call_two_weeks_after_the_first_email() {
        let plan = default_renewal_plan();
        let tasks: Vec<&Step> = plan.steps.iter().filter(|s| s.mode == Mode::Task).collect();
        assert_eq!(tasks.len(), 1);
        let call = tasks[0];
        assert_eq!(
            (
                call.key.as_str(),
                call.template.as_str(),
                call.label.as_str()
            ),
            (CALL_CUSTOMER, CALL_CUSTOMER, "Call the customer")
        );
        let first_email = plan.steps.iter().map(|s| s.offset.days).min();
        assert_eq!(first_email.map(|days| call.offset.days - days), Some(14));
        assert_eq!(call.offset.unit, OffsetUnit::CalendarDays);
        assert_eq!(
            (call.anchor, call.recipients),
            (Anchor::EndDate, Recipients::OWNER)
        );
        assert_eq!(call.send_time, Time::constant(9, 0, 0, 0));
    }

    #[test]
    fn a_step_written_before_reply_to_existed_reads_without_one() {
        let mut json = serde_json::to_value(&default_renewal_plan().steps[0]).unwrap();
        json.as_object_mut().unwrap().remove("reply_to");
        let step: Step = serde_json::from_value(json).unwrap();
        assert_eq!(step.reply_to, None);
    }

    #[test]
    fn enums_round_trip_through_text() {
        for mode in [Mode::Auto, Mode::Approval, Mode::Internal, Mode::Task] {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
        }
        let err = "sometimes".parse::<Mode>().unwrap_err();
        assert!(
            err.message.contains("auto, approval, internal, task"),
            "{err}"
        );
    }
}
