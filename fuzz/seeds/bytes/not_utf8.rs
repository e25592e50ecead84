pub fn ok() {}
// café in Latin-1
