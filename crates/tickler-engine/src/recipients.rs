use tickler_core::plan::Recipients;

/// Who a step's message goes to: (to, cc), without duplicates, an address in `to` never
/// repeated in `cc`.
pub(crate) fn resolve(
    recipients: Recipients,
    customer: &[String],
    owner: Option<&str>,
    team: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut to: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, address: &str| {
        if !list.iter().any(|a| a.eq_ignore_ascii_case(address)) {
            list.push(address.to_string());
        }
    };
    if recipients.customer {
        for address in customer {
            push(&mut to, address);
        }
    }
    if let (true, Some(owner)) = (recipients.owner, owner) {
        push(&mut to, owner);
    }
    if recipients.team {
        for address in team {
            push(&mut to, address);
        }
    }
    let mut cc = Vec::new();
    if let (true, Some(owner)) = (recipients.cc_owner, owner)
        && !to.iter().any(|a| a.eq_ignore_ascii_case(owner))
    {
        push(&mut cc, owner);
    }
    (to, cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn customer_with_owner_in_cc() {
        let (to, cc) = resolve(
            Recipients::CUSTOMER_CC_OWNER,
            &addresses(&["a@x.example", "b@x.example"]),
            Some("sales@firm.example"),
            &[],
        );
        assert_eq!(to, addresses(&["a@x.example", "b@x.example"]));
        assert_eq!(cc, addresses(&["sales@firm.example"]));
    }

    #[test]
    fn no_owner_means_no_cc_and_no_address_twice() {
        let (to, cc) = resolve(
            Recipients::CUSTOMER_CC_OWNER,
            &addresses(&["a@x.example"]),
            None,
            &[],
        );
        assert_eq!((to, cc), (addresses(&["a@x.example"]), vec![]));
        let both = Recipients {
            customer: true,
            owner: true,
            team: false,
            cc_owner: true,
        };
        let (to, cc) = resolve(both, &addresses(&["A@x.example"]), Some("a@X.example"), &[]);
        assert_eq!((to, cc), (addresses(&["A@x.example"]), vec![]));
    }
}
