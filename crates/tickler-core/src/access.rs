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

    /// Who stands in the way of the viewer changing a customer's addresses, given the
    /// owners of the customer's active contracts: every reminder of those contracts (amounts
    /// and bank details included) follows the new addresses, so redirecting them takes an
    /// admin or the contract's owner. Unowned contracts block nobody ([`Action::Create`],
    /// checked apart, says who may change a customer at all). Empty: allowed.
    pub fn owners_blocking_redirect(&self, owners: &[Option<i64>]) -> Vec<i64> {
        let mut blocking: Vec<i64> = owners
            .iter()
            .flatten()
            .copied()
            .filter(|&owner| !self.may(Action::ChangeContract, Some(owner)))
            .collect();
        blocking.sort_unstable();
        blocking.dedup();
        blocking
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

    fn viewer(user_id: i64, role: Role) -> Viewer {
        Viewer { user_id, role }
    }

    #[test]
    fn admins_may_do_everything_viewers_only_read() {
        let admin = viewer(1, Role::Admin);
        let viewer = viewer(2, Role::Viewer);
        for action in ACTIONS {
            for owner in [None, Some(1), Some(2), Some(3)] {
                assert!(admin.may(action, owner));
                assert_eq!(viewer.may(action, owner), action == Action::View);
            }
        }
    }

    #[test]
    fn salespeople_change_only_what_they_own() {
        let sales = viewer(7, Role::Sales);
        assert!(sales.may(Action::View, Some(8)));
        assert!(sales.may(Action::Create, None));
        assert!(sales.may(Action::ChangeContract, Some(7)));
        assert!(!sales.may(Action::ChangeContract, Some(8)));
        assert!(!sales.may(Action::ChangeContract, None));
        assert!(!sales.may(Action::ManagePlans, None));
        assert!(!sales.may(Action::Administer, None));
    }

    #[test]
    fn only_an_admin_or_the_owner_redirects_a_customers_mail() {
        let sales = viewer(7, Role::Sales);
        let admin = viewer(1, Role::Admin);
        let owners = [Some(7), None, Some(9), Some(8), Some(9)];
        assert_eq!(sales.owners_blocking_redirect(&owners), vec![8, 9]);
        assert!(sales.owners_blocking_redirect(&[Some(7), None]).is_empty());
        assert!(sales.owners_blocking_redirect(&[]).is_empty());
        assert!(admin.owners_blocking_redirect(&owners).is_empty());
    }
}
