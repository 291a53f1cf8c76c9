// `sqlx::migrate!` embeds the migration folders at compile time; without this, a migration
// file added later would be missing from an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
