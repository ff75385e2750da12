package store

// The combined send statements, for the plan test (plans_test.go).
var ClaimManySQL, FinishManySQL = claimManySQL, finishManySQL
