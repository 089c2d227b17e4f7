"""Golden sequences for muon, adafactor, shampoo or soap.

(placeholder: being written; writes optimizers_matrix.json)
"""


def main() -> None:
    print("no cases yet")


if __name__ == "__main__":
    main()
