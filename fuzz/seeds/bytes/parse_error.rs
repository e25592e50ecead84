pub fn broken( {
    let x = 1;
}
