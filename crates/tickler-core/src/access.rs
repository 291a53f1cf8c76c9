//! Who may do what: one rule for every page, API call and form.

use crate::user::Role;

/// Something a member of the team asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read any page.
    View,
    /// Enter a new contract or customer, or change a customer.
    Create,
    /// Edit, send now or skip a reminder of the contract; edit, renew or terminate it.
    ChangeContract,
    /// Plans and templates.
    ManagePlans,
    /// Organisation settings and users.
    Administer,
}

/// The person asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
}

impl Viewer {
    /// Whether the viewer may take `action`; `owner_id` is the owner of the contract it
    /// concerns, if any. Admins may do everything, salespeople may read everything and
    /// change what they own, viewers may only read.
    pub fn may(&self, action: Action, owner_id: Option<i64>) -> bool {
        match (self.role, action) {
            (Role::Admin, _) => true,
            (_, Action::View) => true,
            (Role::Sales, Action::Create) => true,
            (Role::Sales, Action::ChangeContract) => owner_id == Some(self.user_id),
            (Role::Sales, Action::ManagePlans | Action::Administer) => false,
            (Role::Viewer, _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 5] = [
        Action::View,
        Action::Create,
        Action::ChangeContract,
        Action::ManagePlans,
        Action::Administer,
    ];

    #[test]
    fn admins_may_do_everything_viewers_only_read() {
        let admin = Viewer {
            user_id: 1,
            role: Role::Admin,
        };
        let viewer = Viewer {
            user_id: 2,
            role: Role::Viewer,
        };
        for action in ACTIONS {
            for owner in [None, Some(1), Some(2), Some(3)] {
                assert!(admin.may(action, owner));
                assert_eq!(viewer.may(action, owner), action == Action::View);
            }
        }
    }

    #[test]
    fn salespeople_change_only_what_they_own() {
        let sales = Viewer {
            user_id: 7,
            role: Role::Sales,
        };
        assert!(sales.may(Action::View, Some(8)));
        assert!(sales.may(Action::Create, None));
        assert!(sales.may(Action::ChangeContract, Some(7)));
        assert!(!sales.may(Action::ChangeContract, Some(8)));
        assert!(!sales.may(Action::ChangeContract, None));
        assert!(!sales.may(Action::ManagePlans, None));
        assert!(!sales.may(Action::Administer, None));
    }
}
