//! Login throttling counts and session lifetimes: the same tests on SQLite and PostgreSQL.

#[macro_use]
mod support;

use support::{at_minutes, fixture, t0};
use tickler_store::{Store, sessions};

on_both_backends! {
    attempts_are_counted_one_by_one_even_in_parallel => sqlite_attempts_are_counted_one_by_one_even_in_parallel, postgres_attempts_are_counted_one_by_one_even_in_parallel;
    a_quiet_window_forgets_and_a_success_takes_back_one => sqlite_a_quiet_window_forgets_and_a_success_takes_back_one, postgres_a_quiet_window_forgets_and_a_success_takes_back_one;
    a_users_other_sessions_end_and_one_stays => sqlite_a_users_other_sessions_end_and_one_stays, postgres_a_users_other_sessions_end_and_one_stays;
}

async fn attempts_are_counted_one_by_one_even_in_parallel(store: Store) {
    const BURST: u32 = 16;
    let window_start = at_minutes(-15);
    let tasks: Vec<_> = (0..BURST)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut db = store.conn().await.unwrap();
                sessions::count_attempt(&mut db, "ip:198.51.100.66", t0(), window_start)
                    .await
                    .unwrap()
                    .0
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..BURST).collect::<Vec<_>>(),
        "each attempt its own count"
    );
}

async fn a_quiet_window_forgets_and_a_success_takes_back_one(store: Store) {
    let mut db = store.conn().await.unwrap();
    let key = "email:sam@firm.example";
    let count = async |db: &mut tickler_store::Db, minutes: i64| {
        let now = at_minutes(minutes);
        sessions::count_attempt(db, key, now, at_minutes(minutes - 15))
            .await
            .unwrap()
    };
    assert_eq!(count(&mut db, 0).await, (0, None));
    assert_eq!(count(&mut db, 1).await, (1, Some(at_minutes(0))));
    assert_eq!(count(&mut db, 2).await.0, 2);
    sessions::take_back_attempt(&mut db, key).await.unwrap();
    assert_eq!(
        count(&mut db, 3).await.0,
        2,
        "the success's own count is gone"
    );
    // Twenty quiet minutes later the failures no longer count.
    assert_eq!(count(&mut db, 23).await, (0, None));
    assert_eq!(count(&mut db, 24).await.0, 1);
}

async fn a_users_other_sessions_end_and_one_stays(store: Store) {
    let fx = fixture(&store).await;
    let mut db = store.conn().await.unwrap();
    let later = at_minutes(60);
    for hash in ["laptop", "phone", "tablet"] {
        sessions::insert(&mut db, hash, fx.owner_id, "csrf", t0(), later)
            .await
            .unwrap();
    }
    sessions::delete_others_of_user(&mut db, fx.owner_id, "laptop")
        .await
        .unwrap();
    let live = sessions::find_live(&mut db, "laptop", t0()).await.unwrap();
    assert_eq!(live.map(|s| s.created_at), Some(t0()));
    for gone in ["phone", "tablet"] {
        assert!(
            sessions::find_live(&mut db, gone, t0())
                .await
                .unwrap()
                .is_none()
        );
    }
}
