"""Golden sequences for lbfgs, polyak_sgd, sam.

(placeholder: being written; writes optimizers_quasi.json)
"""


def main() -> None:
    print("no cases yet")


if __name__ == "__main__":
    main()
